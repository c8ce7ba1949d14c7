// Shared by the console's accessibility and layout checks (not a test file
// itself): axe-core (pinned in package.json, never from a CDN) run inside a
// page, and the layout facts a small screen depends on.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { mkdir } from 'node:fs/promises';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFile(require.resolve('axe-core/axe.min.js'), 'utf8');

/** The WCAG 2.x A/AA rules and axe's best practices, as the issue measured. */
const AXE_OPTIONS = {
  runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
  resultTypes: ['violations'],
};

/**
 * axe-core's violations on the page as it is now, one line per rule and
 * element. The source is evaluated in the page by the DevTools protocol:
 * a <script> element (addScriptTag) would be refused by the console's CSP
 * (script-src 'self'), and bypassing the CSP for the test would also let
 * through what the real page refuses.
 */
export async function axeViolations(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    await page.evaluate(await AXE_SOURCE);
  }
  const violations = await page.evaluate((options) => window.axe.run(document, options).then((r) => r.violations), AXE_OPTIONS);
  return violations.flatMap((v) => v.nodes.map((n) => {
    const why = (n.any[0] || n.all[0] || n.none[0])?.message ?? '';
    return `${v.id} (${v.impact}): ${n.target.join(' ')} — ${why}`;
  }));
}

/**
 * What does not fit the viewport: the document wider than the window, or a
 * scroll region whose content is wider than the region (clipped unless
 * scrolled). Returns readable lines; empty when everything fits.
 */
export function overflow(page, { regions }) {
  return page.evaluate((checkRegions) => {
    const out = [];
    const doc = document.documentElement;
    if (doc.scrollWidth > window.innerWidth) {
      const wide = [...document.querySelectorAll('body *')]
        .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
        .filter((el) => !el.closest('[data-scroll-region]'))
        .slice(0, 3)
        .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}.${[...el.classList].join('.')}`);
      out.push(`document ${doc.scrollWidth} px wide in a ${window.innerWidth} px window (${wide.join(', ')})`);
    }
    if (checkRegions) {
      for (const r of document.querySelectorAll('[data-scroll-region]')) {
        if (r.scrollWidth > r.clientWidth + 1) {
          out.push(`"${r.getAttribute('aria-label') || r.id}" needs scrolling: ${r.scrollWidth} px in ${r.clientWidth} px`);
        }
      }
    }
    return out;
  }, regions);
}

/**
 * Saves screenshots when LATCHKEY_SHOTS names a directory: the page in
 * screen-high pieces (`name-1.png`, `name-2.png`, …, at most four), so each
 * can be looked at in full size.
 */
export async function shot(page, name) {
  const dir = process.env.LATCHKEY_SHOTS;
  if (!dir) return;
  await mkdir(dir, { recursive: true });
  const { width, height } = page.viewportSize();
  const total = await page.evaluate(() => document.documentElement.scrollHeight);
  for (let i = 0; i < Math.min(4, Math.ceil(total / height)); i += 1) {
    const h = Math.min(height, total - i * height);
    await page.screenshot({ path: `${dir}/${name}-${i + 1}.png`, fullPage: true, clip: { x: 0, y: i * height, width, height: h } });
  }
}
