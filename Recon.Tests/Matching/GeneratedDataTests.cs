using Recon.Core.Matching;

namespace Recon.Tests.Matching;

public sealed class GeneratedDataTests
{
    private static readonly MatchRules Defaults = new() { AmountToleranceMinor = 100, AmountToleranceBasisPoints = 10 };

    [Theory]
    [InlineData(20_000, 1)]
    [InlineData(20_000, 2)]
    [InlineData(50_000, 3)]
    public void Match_RealisticNoise_PrecisionAtLeast999AndRecallAtLeast98(int size, int seed)
    {
        var scenario = MatchScenarioGenerator.Generate(size, seed);

        var run = new Matcher(Defaults).Match(scenario.Transactions, scenario.Ledger);
        var eval = MatchEvaluation.Evaluate(run, scenario.Truth);

        Assert.True(eval.Precision >= 0.999, $"precision {eval.Precision:F5}; wrong: {string.Join(", ", eval.WrongMatches.Take(10))}");
        Assert.True(eval.Recall >= 0.98, $"recall {eval.Recall:F5} ({eval.CorrectMatched}/{eval.TruthPairs}); outcomes {string.Join(", ", eval.Outcomes)}");
    }

    [Fact]
    public void Match_RealisticNoise_EveryMissIsProposedAmbiguousUnmatchedOrDuplicateNeverWronglyMatched()
    {
        var scenario = MatchScenarioGenerator.Generate(20_000, 7);
        var truth = scenario.Truth.ToDictionary(t => (t.Provider, t.ProviderTxId), t => t.LedgerIds);

        var run = new Matcher(Defaults).Match(scenario.Transactions, scenario.Ledger);

        var misses = 0;
        foreach (var r in run.Results)
        {
            var ids = truth[(r.Provider, r.ProviderTxId)];
            var right = ids.Count > 0 && ids.ToHashSet().SetEquals(r.LedgerIds);
            if (r.Outcome == MatchOutcome.Matched)
            {
                Assert.True(right, $"{r.Provider}:{r.ProviderTxId} matched {string.Join(";", r.LedgerIds)}, truth {string.Join(";", ids)}");
            }
            else if (ids.Count > 0)
            {
                misses++;
                Assert.Contains(r.Outcome, new[] { MatchOutcome.Proposed, MatchOutcome.Ambiguous, MatchOutcome.Unmatched, MatchOutcome.Duplicate });
            }
        }
        Assert.True(misses > 0, "the generator's noise (typos, double payments) must cause some misses, or this test proves nothing");
    }

    [Fact]
    public void Generate_SameSeed_SameData()
    {
        var a = MatchScenarioGenerator.Generate(2_000, 42);
        var b = MatchScenarioGenerator.Generate(2_000, 42);

        Assert.Equal(a.Transactions, b.Transactions);
        Assert.Equal(a.Ledger, b.Ledger);
    }
}
