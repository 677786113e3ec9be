import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { RejectedRowsReport } from "../../src/cli/rejected-rows-report.ts";

describe("the report of rejected rows", () => {
  const dir = mkdtempSync(join(tmpdir(), "openesc-report-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("neutralises formulas and control characters in every column, and quotes as CSV must", async () => {
    const path = join(dir, "rejected.csv");
    const report = await RejectedRowsReport.open(path);
    await report.write({
      origin: { row: 3, locator: '=HYPERLINK("http://x")' },
      field: "+email",
      reason: "-1",
    });
    await report.write({ origin: { row: 4 }, field: "@name", reason: "bell\u0007, then\na new line" });
    await report.close();
    assert.deepEqual(readFileSync(path, "utf8").split("\r\n"), [
      "row,field,reason,locator",
      `3,'+email,'-1,"'=HYPERLINK(""http://x"")"`,
      `4,'@name,"bell\\u0007, then\na new line",`,
      "",
    ]);
  });

  it("names the connector first when several share the report", async () => {
    const path = join(dir, "sync.csv");
    const report = await RejectedRowsReport.open(path, { withConnector: true });
    await report.write({ origin: { row: 1 }, field: "esi", reason: "is required" }, "=sis");
    await report.close();
    assert.deepEqual(readFileSync(path, "utf8").split("\r\n"), [
      "connector,row,field,reason,locator",
      "'=sis,1,esi,is required,",
      "",
    ]);
  });

  it("cannot be opened where no file can be made", async () => {
    await assert.rejects(RejectedRowsReport.open(join(dir, "no", "such", "folder", "r.csv")), {
      code: "ENOENT",
    });
  });
});
