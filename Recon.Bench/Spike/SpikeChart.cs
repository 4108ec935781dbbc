using System.Globalization;
using System.Net;
using System.Text;

namespace Recon.Bench.Spike;

/// <summary>Draws the runs over time as one SVG: queue depth, admitted provider rate, batch latency and DB connections.</summary>
public static class SpikeChart
{
    private const int Width = 960;
    private const int PanelHeight = 190;
    private const int Left = 70;
    private const int Right = 190;
    private const int Top = 40;
    private const int Gap = 48;

    private sealed record Series(string Label, string Color, string Dash, IReadOnlyList<(double X, double Y)> Points);

    private sealed record Panel(string Title, string Unit, IReadOnlyList<Series> Series, double? Guide = null, string? GuideLabel = null);

    public static string Render(SpikeReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var colors = new Dictionary<string, (string Main, string Alt)>(StringComparer.Ordinal)
        {
            ["naive"] = ("#d62728", "#ff9896"),
            ["recon"] = ("#1f77b4", "#17becf"),
        };
        (string Main, string Alt) ColorOf(string mode) => colors.TryGetValue(mode, out var c) ? c : ("#555555", "#999999");
        static List<(double, double)> Pts(SpikeRunResult r, Func<SpikeSecond, double> y) => r.Timeline.Select(s => ((double)s.Second, y(s))).ToList();

        var panels = new List<Panel>
        {
            new("Queue depth: jobs arrived and not finished", "jobs", report.Runs.SelectMany(r => new[]
            {
                new Series($"{r.Mode} low", ColorOf(r.Mode).Main, "", Pts(r, s => s.BacklogLow)),
                new Series($"{r.Mode} high", ColorOf(r.Mode).Alt, "6 3", Pts(r, s => s.BacklogHigh)),
            }).ToList()),
            new("Provider calls per second: admitted (solid) and 429 (dashed)", "req/s", report.Runs.SelectMany(r => new[]
            {
                new Series($"{r.Mode} admitted", ColorOf(r.Mode).Main, "", Pts(r, s => s.ProviderAdmitted)),
                new Series($"{r.Mode} 429", ColorOf(r.Mode).Alt, "6 3", Pts(r, s => s.Provider429)),
            }).ToList(), report.Limits.AdmittedFor(report.Workload.Endpoints.Count), "Recon admits"),
            new("Batch latency: slowest batch finishing in each second", "s", report.Runs.SelectMany(r => new[]
            {
                new Series($"{r.Mode} low", ColorOf(r.Mode).Main, "", Pts(r, s => s.LatencyMaxLow)),
                new Series($"{r.Mode} high", ColorOf(r.Mode).Alt, "6 3", Pts(r, s => s.LatencyMaxHigh)),
            }).ToList(), report.Limits.BatchWindowSeconds, "30 s window"),
            new("PostgreSQL server connections (pg_stat_activity)", "conns", report.Runs.Select(r =>
                new Series($"{r.Mode}", ColorOf(r.Mode).Main, "", Pts(r, s => s.DbServerConnections))).ToList(),
                report.Limits.ConfiguredPoolSize, "pool size"),
        };

        var xMax = Math.Max(1, report.Runs.SelectMany(r => r.Timeline).Select(s => s.Second).DefaultIfEmpty(1).Max());
        var height = Top + (panels.Count * (PanelHeight + Gap)) + 10;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" font-family=\"sans-serif\" font-size=\"11\">\n");
        sb.Append(CultureInfo.InvariantCulture, $"<rect width=\"{Width}\" height=\"{height}\" fill=\"white\"/>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left}\" y=\"22\" font-size=\"15\" font-weight=\"bold\">{Esc($"Spike benchmark: naive vs recon (scale {report.Scale.ToString("0.##", CultureInfo.InvariantCulture)}; burst {report.Workload.BurstStartSeconds:0.#}-{report.Workload.BurstEndSeconds:0.#} s)")}</text>\n");
        var y0 = Top;
        foreach (var panel in panels)
        {
            DrawPanel(sb, panel, y0, xMax, report.Workload);
            y0 += PanelHeight + Gap;
        }
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private static void DrawPanel(StringBuilder sb, Panel panel, int top, double xMax, SpikeWorkloadSummary workload)
    {
        var plotWidth = Width - Left - Right;
        var yMaxData = panel.Series.SelectMany(s => s.Points).Select(p => p.Y).DefaultIfEmpty(0).Max();
        var yMax = NiceCeiling(Math.Max(Math.Max(yMaxData, panel.Guide ?? 0) * 1.05, 1));
        double X(double x) => Left + (x / xMax * plotWidth);
        double Y(double y) => top + PanelHeight - (y / yMax * PanelHeight);
        var ic = CultureInfo.InvariantCulture;

        sb.Append(ic, $"<text x=\"{Left}\" y=\"{top - 8}\" font-size=\"12\" font-weight=\"bold\">{Esc(panel.Title)}</text>\n");
        // burst shading
        sb.Append(ic, $"<rect x=\"{X(workload.BurstStartSeconds):0.#}\" y=\"{top}\" width=\"{X(workload.BurstEndSeconds) - X(workload.BurstStartSeconds):0.#}\" height=\"{PanelHeight}\" fill=\"#f2f2f2\"/>\n");
        sb.Append(ic, $"<rect x=\"{Left}\" y=\"{top}\" width=\"{plotWidth}\" height=\"{PanelHeight}\" fill=\"none\" stroke=\"#888\"/>\n");
        for (var i = 0; i <= 4; i++)
        {
            var v = yMax * i / 4;
            var yy = Y(v);
            sb.Append(ic, $"<line x1=\"{Left}\" y1=\"{yy:0.#}\" x2=\"{Left + plotWidth}\" y2=\"{yy:0.#}\" stroke=\"#e0e0e0\"/>\n");
            sb.Append(ic, $"<text x=\"{Left - 6}\" y=\"{yy + 4:0.#}\" text-anchor=\"end\">{v:0.##}</text>\n");
        }
        var xStep = NiceCeiling(xMax / 8);
        for (var x = 0.0; x <= xMax + 1e-9; x += xStep)
        {
            sb.Append(ic, $"<text x=\"{X(x):0.#}\" y=\"{top + PanelHeight + 14}\" text-anchor=\"middle\">{x:0}</text>\n");
        }
        sb.Append(ic, $"<text x=\"{Left + plotWidth}\" y=\"{top + PanelHeight + 28}\" text-anchor=\"end\">seconds since start</text>\n");
        sb.Append(ic, $"<text x=\"14\" y=\"{top + (PanelHeight / 2)}\" transform=\"rotate(-90 14 {top + (PanelHeight / 2)})\" text-anchor=\"middle\">{Esc(panel.Unit)}</text>\n");
        if (panel.Guide is { } guide)
        {
            sb.Append(ic, $"<line x1=\"{Left}\" y1=\"{Y(guide):0.#}\" x2=\"{Left + plotWidth}\" y2=\"{Y(guide):0.#}\" stroke=\"#2ca02c\" stroke-dasharray=\"2 3\"/>\n");
            sb.Append(ic, $"<text x=\"{Left + plotWidth - 4}\" y=\"{Y(guide) - 4:0.#}\" text-anchor=\"end\" fill=\"#2ca02c\">{Esc($"{panel.GuideLabel} {guide:0.##}")}</text>\n");
        }
        var legendY = top + 10;
        foreach (var s in panel.Series)
        {
            if (s.Points.Count > 0)
            {
                var points = string.Join(' ', s.Points.Select(p => string.Create(ic, $"{X(p.X):0.#},{Y(Math.Min(p.Y, yMax)):0.#}")));
                var dash = s.Dash.Length > 0 ? $" stroke-dasharray=\"{s.Dash}\"" : "";
                sb.Append(ic, $"<polyline fill=\"none\" stroke=\"{s.Color}\" stroke-width=\"1.6\"{dash} points=\"{points}\"/>\n");
            }
            var lx = Left + plotWidth + 12;
            var dashAttr = s.Dash.Length > 0 ? $" stroke-dasharray=\"{s.Dash}\"" : "";
            sb.Append(ic, $"<line x1=\"{lx}\" y1=\"{legendY - 4}\" x2=\"{lx + 22}\" y2=\"{legendY - 4}\" stroke=\"{s.Color}\" stroke-width=\"2\"{dashAttr}/>\n");
            sb.Append(ic, $"<text x=\"{lx + 28}\" y=\"{legendY}\">{Esc(s.Label)}</text>\n");
            legendY += 16;
        }
    }

    private static double NiceCeiling(double v)
    {
        if (v <= 0)
        {
            return 1;
        }
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(v)));
        foreach (var m in new[] { 1.0, 2, 2.5, 5, 10 })
        {
            if (m * magnitude >= v)
            {
                return m * magnitude;
            }
        }
        return 10 * magnitude;
    }

    private static string Esc(string text) => WebUtility.HtmlEncode(text);
}
