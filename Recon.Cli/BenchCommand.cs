using Microsoft.Extensions.Configuration;

namespace Recon.Cli;

/// <summary><c>recon bench SUBCOMMAND ...</c>: speed measurements, reported not asserted. Add a benchmark with one line below.</summary>
internal static class BenchCommand
{
    private static readonly Dictionary<string, (string Help, Func<string[], IConfiguration, Task<int>> Run)> Subcommands = new(StringComparer.Ordinal)
    {
        ["match-quality"] = ("matched precision and recall per kind over seeds: bench match-quality --size N --seeds A..B", MatchBench.QualityAsync),
        ["match"] = ("matcher throughput and memory: bench match --size N --out FILE.json [--payouts P --charges-per-payout C] [--runs R]", MatchBench.RunAsync),
        ["bucket"] = ("Redis token bucket: acquires/s (pipelined, loopback; single and coalesced paths) and admitted-rate accuracy: " + BenchBucketCommand.Usage, BenchBucketCommand.RunAsync),
        ["ledger"] = ("ledger import rows/s (CSV parse, binary COPY, upsert) in a scratch database: " + LedgerBench.Usage, LedgerBench.RunAsync),
        ["spike"] = ("the 10x spike, naive vs recon on the local stack: " + BenchSpikeCommand.Usage, BenchSpikeCommand.RunAsync),
    };

    public static Task<int> RunAsync(string[] args, IConfiguration configuration)
    {
        if (args.Length == 0 || !Subcommands.TryGetValue(args[0], out var sub))
        {
            var list = string.Join("\n", Subcommands.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"  bench {s.Key,-8} {s.Value.Help}"));
            throw new UsageException((args.Length == 0 ? "which benchmark?" : $"unknown benchmark '{args[0]}'") + "\n" + list);
        }
        return sub.Run(args[1..], configuration);
    }
}
