/**
 * The console's stylesheet and icon, served from /ui/static/ (not inline: the Content Security Policy
 * allows no inline style). Kept as module constants so the compiled build (dist/) carries them.
 */
export const CONSOLE_CSS = `/* driftgate console: one stylesheet, no inline styles (Content-Security-Policy: default-src 'self'). */
:root { --fg: #1d2330; --muted: #5b6475; --line: #d9dde5; --bg: #f7f8fa; --accent: #1f5fbf; --bad: #b3261e; --ok: #1b7f3b; --warn: #a15c00; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: 1.5rem; padding: .6rem 1.5rem; background: #15243d; color: #fff; }
header a { color: #cfe0ff; text-decoration: none; }
header a.brand { color: #fff; font-weight: 700; font-size: 1.1rem; }
header nav { display: flex; gap: 1rem; flex: 1; }
header nav a[aria-current="page"] { color: #fff; border-bottom: 2px solid #fff; }
header form.who { display: flex; gap: .6rem; align-items: center; }
header form.who button { background: transparent; color: #cfe0ff; border: 1px solid #4a5f86; }
main { padding: 1rem 1.5rem 3rem; max-width: 1400px; }
h1 { font-size: 1.4rem; margin: .4rem 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.6rem 0 .5rem; }
h3 { font-size: .95rem; margin: .8rem 0 .3rem; }
.count { color: var(--muted); font-weight: 400; }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; vertical-align: top; padding: .45rem .6rem; border-bottom: 1px solid var(--line); }
th { background: #eef1f6; font-weight: 600; }
td.reason, .evidence { white-space: pre-wrap; overflow-wrap: anywhere; min-width: 14rem; max-width: 28rem; }
td.actions { white-space: nowrap; width: 1%; }
td.actions form.inline { display: flex; margin: 0 0 .3rem; }
td.actions form.inline input { width: 11rem; }
td.actions form.inline button { min-width: 5.5rem; }
td > code { white-space: nowrap; }
code { font: 12.5px ui-monospace, SFMono-Regular, Menlo, monospace; }
small { color: var(--muted); }
form.inline { display: inline-flex; gap: .3rem; margin: 0 .3rem .3rem 0; }
input, select, textarea, button { font: inherit; padding: .3rem .5rem; border: 1px solid #b8bfcc; border-radius: 4px; background: #fff; color: var(--fg); }
button { cursor: pointer; background: #e9edf4; }
button.approve { background: var(--ok); color: #fff; border-color: var(--ok); }
button.deny, button.revoke { background: #fff; color: var(--bad); border-color: var(--bad); }
form.filters, form.resolve { display: flex; flex-wrap: wrap; gap: .8rem; align-items: end; margin-bottom: 1rem; }
form.filters label, form.resolve label { display: flex; flex-direction: column; gap: .2rem; color: var(--muted); }
form.resolve input[name="evidence"] { width: 32rem; }
form.login { display: flex; flex-direction: column; gap: .5rem; max-width: 40rem; }
form.login textarea { font: 12px ui-monospace, monospace; }
form.login button { align-self: flex-start; }
.hint, .empty { color: var(--muted); }
.flash { background: #e7f4ea; border: 1px solid #b5dcc0; padding: .5rem .8rem; border-radius: 4px; }
.error { background: #fdecea; border: 1px solid #f3b8b3; padding: .5rem .8rem; border-radius: 4px; color: var(--bad); }
.dev { margin: 0; padding: .4rem 1.5rem; background: #fff4d6; color: var(--warn); border-bottom: 1px solid #f0d58a; }
.bad { color: var(--bad); }
.state { display: inline-block; padding: 0 .45rem; border-radius: 9px; font-size: 12px; background: #eef1f6; }
.state.pending { background: #fff4d6; color: var(--warn); }
.state.overdue { background: #fdecea; color: var(--bad); font-weight: 600; }
.state.backported, .state.reverted, .state.accepted { background: #e7f4ea; color: var(--ok); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; background: #fff; border: 1px solid var(--line); padding: .8rem 1rem; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
section.change { background: #fff; border: 1px solid var(--line); padding: .2rem .8rem .6rem; margin-bottom: .6rem; }
pre.diff { margin: 0; font: 12.5px/1.5 ui-monospace, monospace; white-space: pre-wrap; overflow-wrap: anywhere; }
pre.diff .del { color: #8a1c14; background: #fdecea; }
pre.diff .add { color: #145a2a; background: #e7f4ea; }
pre.diff .none { color: var(--muted); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(660px, 1fr)); gap: 1rem; }
figure { margin: 0; background: #fff; border: 1px solid var(--line); padding: .6rem .8rem; }
figcaption { font-weight: 600; margin-bottom: .3rem; }
svg { max-width: 100%; height: auto; }
svg text { font: 11px system-ui, sans-serif; fill: var(--fg); }
svg text.value { fill: var(--muted); }
svg .axis { stroke: #b8bfcc; }
svg .series-0, .legend .series-0::before { fill: var(--accent); background: var(--accent); }
svg .series-1, .legend .series-1::before { fill: var(--bad); background: var(--bad); }
.legend { margin: 0 0 .3rem; color: var(--muted); }
.legend .key::before { content: ""; display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: -1px; }
.totals { font-size: 1rem; }
`;

export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#15243d"/><path d="M4 4h5a3 3 0 0 1 0 6H4z" fill="none" stroke="#fff" stroke-width="2"/><path d="M4 12h8" stroke="#cfe0ff" stroke-width="2"/></svg>
`;
