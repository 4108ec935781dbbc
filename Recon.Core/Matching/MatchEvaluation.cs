namespace Recon.Core.Matching;

/// <summary>Precision and recall of <c>matched</c> results against ground truth.</summary>
/// <param name="Matched">Results with outcome matched.</param>
/// <param name="CorrectMatched">Matched results whose ledger ids equal the truth's.</param>
/// <param name="TruthPairs">Truth rows with at least one ledger id.</param>
/// <param name="WrongMatches">Matched results that disagree with the truth (provider:id), at most 100 listed.</param>
/// <param name="Outcomes">Results per outcome.</param>
public sealed record MatchEvaluation(int Matched, int CorrectMatched, int TruthPairs, IReadOnlyList<string> WrongMatches, IReadOnlyDictionary<MatchOutcome, int> Outcomes)
{
    /// <summary>Correct matched / matched (1 when nothing was matched).</summary>
    public double Precision => Matched == 0 ? 1.0 : (double)CorrectMatched / Matched;

    /// <summary>Correct matched / truth pairs (1 when the truth pairs nothing).</summary>
    public double Recall => TruthPairs == 0 ? 1.0 : (double)CorrectMatched / TruthPairs;

    /// <summary>Compares a run with the truth; a provider id the truth does not know counts as "should not match".</summary>
    public static MatchEvaluation Evaluate(MatchRun run, IReadOnlyList<MatchTruth> truth)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(truth);
        var expected = new Dictionary<(string, string), IReadOnlyList<string>>(truth.Count);
        var pairs = 0;
        foreach (var t in truth)
        {
            expected[(t.Provider, t.ProviderTxId)] = t.LedgerIds;
            if (t.LedgerIds.Count > 0)
            {
                pairs++;
            }
        }
        var outcomes = Enum.GetValues<MatchOutcome>().ToDictionary(o => o, _ => 0);
        int matched = 0, correct = 0;
        var wrong = new List<string>();
        foreach (var r in run.Results)
        {
            outcomes[r.Outcome]++;
            if (r.Outcome != MatchOutcome.Matched)
            {
                continue;
            }
            matched++;
            if (expected.TryGetValue((r.Provider, r.ProviderTxId), out var ids) && ids.Count > 0 && SameSet(ids, r.LedgerIds))
            {
                correct++;
            }
            else if (wrong.Count < 100)
            {
                wrong.Add($"{r.Provider}:{r.ProviderTxId}");
            }
        }
        return new MatchEvaluation(matched, correct, pairs, wrong, outcomes);
    }

    private static bool SameSet(IReadOnlyList<string> a, IReadOnlyList<string> b)
        => a.Count == b.Count && a.ToHashSet(StringComparer.Ordinal).SetEquals(b);
}
