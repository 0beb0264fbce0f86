namespace Rampart.Web.Dashboard;

/// <summary>The dashboard's one style sheet, served as <c>/style.css</c> (the CSP allows styles from the dashboard only, none inline).</summary>
internal static class DashboardStyle
{
    public const string Css = """
        :root { color-scheme: light; --ok: #2e7d32; --warn: #b26a00; --fail: #c62828; --muted: #555; }
        * { box-sizing: border-box; }
        body { font: 15px/1.45 system-ui, "DejaVu Sans", sans-serif; margin: 0; color: #1b1b1b; background: #fafafa; }
        header { background: #1f2937; color: #fff; padding: .6rem 1rem; display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; align-items: baseline; }
        header a { color: #fff; text-decoration: none; } header a:hover { text-decoration: underline; }
        header strong { font-size: 1.1rem; margin-right: .6rem; }
        main { padding: 1rem; max-width: 1280px; margin: 0 auto; }
        h1 { font-size: 1.4rem; margin: .2rem 0 .8rem; overflow-wrap: anywhere; } h2 { font-size: 1.15rem; margin: 1.4rem 0 .5rem; }
        .kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap: .6rem; margin-bottom: 1rem; }
        .kpi { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .5rem .7rem; }
        .kpi b { display: block; font-size: 1.35rem; } .kpi span { color: var(--muted); font-size: .85rem; }
        .scroll { overflow-x: auto; margin-bottom: 1rem; }
        table { border-collapse: collapse; width: 100%; background: #fff; font-size: .92rem; }
        caption { text-align: left; font-weight: 600; padding: .3rem 0; }
        th, td { border-bottom: 1px solid #e3e3e3; padding: .3rem .5rem; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
        th { background: #f0f0f0; overflow-wrap: normal; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        td.empty { color: var(--muted); font-style: italic; }
        .chart { width: 100%; height: auto; background: #fff; border: 1px solid #ddd; border-radius: 6px; }
        .findings { list-style: none; padding: 0; }
        .findings li { background: #fff; border-left: 4px solid var(--muted); margin: .4rem 0; padding: .4rem .6rem; overflow-wrap: anywhere; }
        .findings li.failure { border-color: var(--fail); } .findings li.warning { border-color: var(--warn); } .findings li.info { border-color: #1565c0; }
        .sev { font-weight: 700; text-transform: uppercase; font-size: .78rem; margin-right: .4rem; }
        .failure .sev, .sev.failure { color: var(--fail); } .warning .sev, .sev.warning { color: var(--warn); } .sev.ok { color: var(--ok); }
        .fix { color: var(--muted); display: block; font-size: .88rem; }
        form.filter { margin: 0 0 1rem; display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; }
        pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #fff; border: 1px solid #ddd; padding: .5rem; }
        dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem .8rem; } dt { color: var(--muted); } dd { margin: 0; overflow-wrap: anywhere; }
        .legend span { margin-right: 1rem; font-size: .85rem; } .legend .ok { color: var(--ok); } .legend .failed { color: var(--fail); } .legend .rate { color: #1565c0; }
        @media (max-width: 600px) { main { padding: .6rem; } body { font-size: 14px; } th, td { padding: .25rem .3rem; } .kpi b { font-size: 1.1rem; } }
        """;
}
