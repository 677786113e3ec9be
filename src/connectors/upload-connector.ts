/**
 * The connector name under which files uploaded to the API (`POST /v1/imports`) are recorded. An upload
 * remembers no one and withdraws no one, so no configured connector may take the name.
 */
export const UPLOAD_CONNECTOR = "upload";
