using System.Globalization;
using Microsoft.Extensions.Configuration;
using Recon.Bench.Spike;

namespace Recon.Cli;

/// <summary><c>recon bench spike [--scale S] --out FILE.json [--chart FILE.svg] [--table FILE.md] [--modes naive,recon] [--workers N]</c>: the
/// benchmark itself is in Recon.Bench (<see cref="SpikeBench"/>); this verb parses and prints.</summary>
internal static class BenchSpikeCommand
{
    public const string Usage = "bench spike [--scale S] --out FILE.json [--chart FILE.svg] [--table FILE.md] [--modes naive,recon] [--workers N]";

    public static async Task<int> RunAsync(string[] args, IConfiguration configuration)
    {
        double scale = SpikeWorkloadOptions.DefaultScale;
        string? output = null, chart = null, table = null;
        var modes = new List<string> { "naive", "recon" };
        var workers = 1;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--scale":
                    var text = Value();
                    if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out scale) || !(scale > 0) || scale > 100)
                    {
                        throw new UsageException($"--scale must be a number above 0 and at most 100, not '{text}'");
                    }
                    break;
                case "--out": output = Value(); break;
                case "--chart": chart = Value(); break;
                case "--table": table = Value(); break;
                case "--modes":
                    modes = [.. Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
                    if (modes.Count == 0 || modes.Any(m => m is not ("naive" or "recon")))
                    {
                        throw new UsageException("--modes is a comma-separated list of naive and recon");
                    }
                    break;
                case "--workers":
                    var w = Value();
                    if (!int.TryParse(w, NumberStyles.None, CultureInfo.InvariantCulture, out workers) || workers is < 1 or > 16)
                    {
                        throw new UsageException($"--workers must be a whole number from 1 to 16, not '{w}'");
                    }
                    break;
                default: throw new UsageException($"unknown option '{args[i]}'");
            }
        }
        if (output is null)
        {
            throw new UsageException("--out FILE.json is required");
        }
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        var command = "./recon bench spike " + string.Join(' ', args);
        var report = await SpikeBench.RunAsync(configuration, new SpikeWorkloadOptions { Scale = scale }, modes, command,
            m => Console.Error.WriteLine($"recon bench: {m}"), cancel.Token, workers: workers).ConfigureAwait(false);
        var (json, md, svg) = await SpikeRunner.WriteAsync(report, output, chart, table, cancel.Token).ConfigureAwait(false);
        Console.WriteLine(report.ToMarkdown());
        Console.WriteLine($"wrote {json}, {md}, {svg}");
        return 0;
    }
}
