using BenchmarkDotNet.Attributes;
using Recon.Core.Matching;

namespace Recon.Bench;

/// <summary>
/// The matcher on generated data with realistic noise (mixed 1:1/1:N/N:1) and on the payout case (1:N, 100 charges
/// per deposit). The whole-run figures with peak memory come from <c>./recon bench match</c>; this measures the
/// steady state with BenchmarkDotNet's statistics and allocations.
/// </summary>
[MemoryDiagnoser]
public class MatchBenchmarks
{
    private MatchScenario _mixed = null!;
    private MatchScenario _payouts = null!;
    private Matcher _matcher = null!;

    /// <summary>Provider transactions in the mixed case.</summary>
    [Params(100_000)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _mixed = MatchScenarioGenerator.Generate(Size, seed: 1);
        _payouts = MatchScenarioGenerator.GeneratePayouts(Size / 100, 100, seed: 1);
        _matcher = new Matcher(new MatchRules());
    }

    [Benchmark]
    public MatchRun Mixed() => _matcher.Match(_mixed.Transactions, _mixed.Ledger);

    [Benchmark]
    public MatchRun Payouts() => _matcher.Match(_payouts.Transactions, _payouts.Ledger);
}
