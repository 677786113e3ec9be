/** Where the time comes from, so that tests can freeze it and expiry can be tested at midnight. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
