// Headless Chromium test of the live dashboard (GET /dashboard on the Psy surface): the page
// loads, the TPS chart receives WebSocket data, the leaderboard and request counts fill, a model
// search returns results, and nothing is logged as a console error. Saves a screenshot.
//
// Usage: NODE_PATH=<dir with playwright-core> node dashboard-test.cjs <psy base URL> <screenshot path>
const { chromium } = require("playwright-core");

async function main() {
  const [base, screenshot] = process.argv.slice(2);
  if (!base || !screenshot) {
    console.error("usage: node dashboard-test.cjs <psy base URL> <screenshot path>");
    process.exit(2);
  }

  const failures = [];
  const consoleErrors = [];
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on("console", (message) => {
      if (message.type() === "error" || message.type() === "warning") consoleErrors.push(message.text());
    });
    page.on("pageerror", (error) => consoleErrors.push(String(error)));
    page.on("requestfailed", (request) => consoleErrors.push(`request failed: ${request.url()}`));

    const response = await page.goto(`${base}/dashboard`, { waitUntil: "load" });
    if (response.status() !== 200) failures.push(`/dashboard answered ${response.status()}`);

    const check = async (name, predicate, timeout = 20_000) => {
      try {
        await page.waitForFunction(predicate, null, { timeout });
        console.log(`ok   ${name}`);
      } catch {
        failures.push(name);
        console.log(`FAIL ${name}`);
      }
    };
    await check("the TPS chart received at least 2 WebSocket messages", () =>
      Number(document.getElementById("tps-points")?.textContent || 0) >= 2);
    await check("the latest TPS is shown", () => (document.getElementById("tps-value")?.textContent || "").trim() !== "");
    await check("the worker leaderboard has rows", () => document.querySelectorAll("#leaderboard tr").length > 0);
    // A count of requests above zero (a "0" everywhere would pass a bare digit test).
    await check("request status counts are shown", () => /[1-9]/.test(document.getElementById("request-counts")?.textContent || ""));
    await check("the latest TPS is a number above zero", () => Number((document.getElementById("tps-value")?.textContent || "").replace(/[^0-9.]/g, "")) > 0);
    await check("recent worker events are listed", () => document.querySelectorAll("#worker-events tr, #worker-events li").length > 0);

    await page.fill("#model-search", "face");
    await page.click("#model-search-button");
    await check("a model search returns results", () => document.querySelectorAll("#model-results .model-result").length > 0);

    await page.waitForTimeout(1_500); // let a few more TPS messages draw before the screenshot
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`screenshot: ${screenshot}`);
  } finally {
    await browser.close();
  }

  if (consoleErrors.length > 0) failures.push(`console errors: ${JSON.stringify(consoleErrors)}`);
  if (failures.length > 0) {
    console.error(`dashboard test failed: ${failures.join("; ")}`);
    process.exit(1);
  }
  console.log("dashboard test passed");
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
