// The live dashboard end to end, in headless Chromium (Debian's `chromium`, driven by
// playwright-core): a real lab (3 mariadbd, semi-sync), a host agent per server, two
// deciders serving the API and the page, and the sandbox's writer. The page shows the three
// servers with their roles; a switchover started from the page shows its dry-run plan
// first and completes; after kill -9 of the primary the page shows the new primary and the
// failover's phases without a reload; the browser logs no error throughout. Screenshots go
// to test-artifacts/dashboard/ (gitignored) and, with MARINA_DOCS_SCREENSHOTS=1, to
// docs/img/ for the README and docs/dashboard.md.
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ApiSettings } from "@marina/contracts";
import { waitFor } from "@marina/lab";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Observer, observe } from "../src/observer.js";
import { type Stack, startStack } from "../src/stack.js";
import { dashboardUrl, type RunningWriterStats, startWriterStats } from "../src/writer-stats.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const ARTIFACTS = join(ROOT, "test-artifacts", "dashboard");
const DOCS_IMG = join(ROOT, "docs", "img");
const CHROMIUM = "/usr/bin/chromium";

const TOKEN = "ops-token-for-the-dashboard-test";
const api = ApiSettings.parse({
  host: "127.0.0.1",
  port: 0,
  tokens: [{ name: "ops", token: { env: "MARINA_TEST_API_TOKEN" } }],
});
const env = { MARINA_TEST_API_TOKEN: TOKEN };

/** Chromium as the lab notes say: headless, no network of its own, a fresh profile. */
function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      ...(process.getuid?.() === 0 ? ["--no-sandbox"] : []),
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

async function shot(page: Page, name: string, docs = false): Promise<void> {
  const file = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file });
  // The README's copies change only when asked (a test run leaves the checkout as it was).
  if (docs && process.env.MARINA_DOCS_SCREENSHOTS === "1") {
    copyFileSync(file, join(DOCS_IMG, `${name}.png`));
  }
}

const roleOf = (page: Page, server: string) =>
  page
    .locator(`[data-testid=servers] tr[data-server=${server}] [data-role]`)
    .getAttribute("data-role");

const text = async (page: Page, testId: string) =>
  (await page.getByTestId(testId).textContent()) ?? "";

describe("dashboard (headless Chromium, real servers)", () => {
  let stack: Stack;
  let obs: Observer;
  let writer: RunningWriterStats;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    stack = await startStack({ lab: { nodes: 3, semiSync: true }, deciders: 0, agents: true });
    const first = await stack.startDecider("decider-1", { api, env });
    await waitFor(() => first.app.leading().includes("main"), {
      timeoutMs: 20_000,
      message: "decider-1 leads",
    });
    await stack.startDecider("decider-2", { api, env });
    obs = observe(stack.nc, "main");
    writer = await startWriterStats(stack.lab, obs, "db1");
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(`page error: ${e.message}`));
    const url = dashboardUrl(first.app.apiUrl!, { token: TOKEN, writerUrl: writer.url });
    await page.goto(url);
  }, 120_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await writer?.close().catch(() => {});
    obs?.close();
    await stack?.close();
  });

  it("shows the three servers with their roles, live", async () => {
    await page.getByTestId("stream").filter({ hasText: "live" }).waitFor({ timeout: 20_000 });
    await page
      .locator("[data-testid=servers] tr[data-server=db1] [data-role=primary]")
      .waitFor({ timeout: 20_000 });
    expect(await roleOf(page, "db2")).toBe("replica");
    expect(await roleOf(page, "db3")).toBe("replica");
    expect(await text(page, "primary")).toBe("db1");
    // The graph draws the same: one box per server with its role, an arrow per link.
    for (const [s, role] of [
      ["db1", "primary"],
      ["db2", "replica"],
      ["db3", "replica"],
    ]) {
      await page.locator(`svg g.node[data-server=${s}][data-role=${role}]`).waitFor();
    }
    expect(await page.locator("svg g.edge").count()).toBe(2);
    // The token from the address went to sessionStorage and out of the address bar.
    expect(page.url()).not.toContain(TOKEN);
    // The writer's counts reach the page.
    await waitFor(async () => Number((await text(page, "writer-acked")).replace(/,/g, "")) > 20, {
      timeoutMs: 20_000,
      message: "the writer's acknowledged writes on the page",
    });
    await waitFor(async () => (await text(page, "writer-lost")) === "0", {
      timeoutMs: 10_000,
      message: "the writer's lost count checked",
    });
    await shot(page, "dashboard-steady", true);
  });

  it("starts a switchover from the page: the dry-run's plan first, then it completes", async () => {
    await page.selectOption("#action-verb", "switchover");
    await page.selectOption("#action-server", "db2");
    await page.getByRole("button", { name: "Review plan…" }).click();
    const plan = page.getByTestId("plan");
    await plan.waitFor({ timeout: 15_000 });
    expect(await plan.textContent()).toContain("Would be accepted");
    for (const phase of ["demote", "catch-up", "promote", "repoint"]) {
      await plan.locator(`[data-phase=${phase}]`).waitFor();
    }
    // Nothing was sent by the dry-run.
    expect(await text(page, "primary")).toBe("db1");
    await shot(page, "dashboard-plan", true);
    await page.getByTestId("confirm").click();
    const result = page.getByTestId("result");
    await result.waitFor({ timeout: 15_000 });
    expect(await result.textContent()).toMatch(/^Sent: switchover/);
    await page.getByRole("button", { name: "Close" }).click();
    await waitFor(
      async () =>
        (await text(page, "op-title")).startsWith("switchover db1 → db2") &&
        (await text(page, "op-state")) === "succeeded",
      { timeoutMs: 30_000, message: "the switchover succeeded on the page" },
    );
    await waitFor(async () => (await text(page, "primary")) === "db2", {
      timeoutMs: 10_000,
      message: "db2 the primary on the page",
    });
    await page
      .locator("[data-testid=servers] tr[data-server=db1] [data-role=replica]")
      .waitFor({ timeout: 10_000 });
    const history = page.getByTestId("history");
    await history.getByText("http:ops").first().waitFor({ timeout: 15_000 });
  });

  it("after kill -9 of the primary shows the new primary and the failover's phases, without a reload", async () => {
    // A reload would lose this.
    await page.evaluate(() => {
      (globalThis as unknown as { marinaTestMark: number }).marinaTestMark = 42;
    });
    const ackedBefore = writer.stats().acknowledged;
    await stack.lab.node("db2").kill9();
    await waitFor(
      async () =>
        (await text(page, "op-title")).startsWith("failover db2 →") &&
        (await text(page, "op-state")) === "succeeded",
      { timeoutMs: 60_000, message: "the failover succeeded on the page" },
    );
    const primary = await text(page, "primary");
    expect(["db1", "db3"]).toContain(primary);
    const phases = await page
      .locator("[data-testid=phases] [data-phase]")
      .evaluateAll((els) => els.map((e) => e.getAttribute("data-phase")));
    expect(phases).toEqual(expect.arrayContaining(["promote", "repoint"]));
    await page
      .locator(`[data-testid=servers] tr[data-server=${primary}] [data-role=primary]`)
      .waitFor({ timeout: 10_000 });
    await page
      .locator("[data-testid=servers] tr[data-server=db2] [data-role=down]")
      .waitFor({ timeout: 10_000 });
    await page.locator("svg g.node[data-server=db2][data-role=down]").waitFor();
    // The writer goes on through it, on the new primary, and the page shows it.
    await waitFor(
      async () =>
        Number((await text(page, "writer-acked")).replace(/,/g, "")) > ackedBefore + 20 &&
        (await text(page, "writer")).includes(`writing to ${primary}`),
      { timeoutMs: 30_000, message: "the writer writing to the new primary, on the page" },
    );
    // A lost count checked on the new primary (semi-sync: none expected, but the page
    // shows what the writer found, whatever it is).
    await waitFor(
      async () => writer.stats().target === primary && writer.stats().checkedAt !== null,
      {
        timeoutMs: 10_000,
        message: "the lost count checked on the new primary",
      },
    );
    await page.waitForTimeout(2500);
    expect(await text(page, "writer-lost")).toBe(String(writer.stats().lost));
    const mark = await page.evaluate(
      () => (globalThis as unknown as { marinaTestMark?: number }).marinaTestMark,
    );
    expect(mark).toBe(42);
    await shot(page, "dashboard-failover", true);
  });

  it("logged no error in the browser's console", () => {
    expect(consoleErrors).toEqual([]);
  });
});
