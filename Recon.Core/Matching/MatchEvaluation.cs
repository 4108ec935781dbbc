namespace Recon.Core.Matching;

/// <summary>Precision and recall of <c>matched</c> results against ground truth.</summary>
/// <param name="Matched">Results with outcome matched.</param>
/// <param name="CorrectMatched">Matched results whose ledger ids equal the truth's.</param>
/// <param name="TruthPairs">Truth rows with at least one ledger id.</param>
/// <param name="WrongMatches">Matched results that disagree with the truth (provider:id), at most 100 listed.</param>
/// <param name="Outcomes">Results per outcome.</param>
/// <param name="ByKind">The same counts per kind of case (the truth's <c>kind</c>; results the truth does not know count
/// under <see cref="UnknownKind"/>), ordered by kind.</param>
public sealed record MatchEvaluation(int Matched, int CorrectMatched, int TruthPairs, IReadOnlyList<string> WrongMatches,
    IReadOnlyDictionary<MatchOutcome, int> Outcomes, IReadOnlyList<KindEvaluation> ByKind)
{
    /// <summary>Kind under which results are counted whose truth row has no kind or which the truth does not know.</summary>
    public const string UnknownKind = "(none)";

    /// <summary>Correct matched / matched (1 when nothing was matched).</summary>
    public double Precision => Matched == 0 ? 1.0 : (double)CorrectMatched / Matched;

    /// <summary>Correct matched / truth pairs (1 when the truth pairs nothing).</summary>
    public double Recall => TruthPairs == 0 ? 1.0 : (double)CorrectMatched / TruthPairs;

    /// <summary>Compares a run with the truth; a provider id the truth does not know counts as "should not match".</summary>
    /// <remarks>A transaction delivered twice may appear twice in a truth file (once per delivery, the repeat pairing
    /// nothing): the row that pairs something speaks for the id, as the matcher matches it once.</remarks>
    public static MatchEvaluation Evaluate(MatchRun run, IReadOnlyList<MatchTruth> truth)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(truth);
        var expected = new Dictionary<(string, string), MatchTruth>(truth.Count);
        foreach (var t in truth)
        {
            if (!expected.TryGetValue((t.Provider, t.ProviderTxId), out var seen) || (seen.LedgerIds.Count == 0 && t.LedgerIds.Count > 0))
            {
                expected[(t.Provider, t.ProviderTxId)] = t;
            }
        }
        var kinds = new SortedDictionary<string, int[]>(StringComparer.Ordinal); // matched, correct, pairs
        int[] KindOf(string kind)
        {
            var k = kind.Length == 0 ? UnknownKind : kind;
            if (!kinds.TryGetValue(k, out var c))
            {
                kinds[k] = c = new int[3];
            }
            return c;
        }
        var pairs = 0;
        foreach (var t in expected.Values)
        {
            KindOf(t.Kind); // every kind listed, also one that pairs nothing
            if (t.LedgerIds.Count > 0)
            {
                pairs++;
                KindOf(t.Kind)[2]++;
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
            var known = expected.TryGetValue((r.Provider, r.ProviderTxId), out var t);
            var counts = KindOf(known ? t!.Kind : "");
            counts[0]++;
            if (known && t!.LedgerIds.Count > 0 && SameSet(t.LedgerIds, r.LedgerIds))
            {
                correct++;
                counts[1]++;
            }
            else if (wrong.Count < 100)
            {
                wrong.Add($"{r.Provider}:{r.ProviderTxId}");
            }
        }
        var byKind = kinds.Select(k => new KindEvaluation(k.Key, k.Value[0], k.Value[1], k.Value[2])).ToList();
        return new MatchEvaluation(matched, correct, pairs, wrong, outcomes, byKind);
    }

    private static bool SameSet(IReadOnlyList<string> a, IReadOnlyList<string> b)
        => a.Count == b.Count && a.ToHashSet(StringComparer.Ordinal).SetEquals(b);
}

/// <summary>Precision and recall of <c>matched</c> for one kind of case.</summary>
/// <param name="Kind">The truth's kind.</param>
/// <param name="Matched">Matched results of this kind.</param>
/// <param name="CorrectMatched">Of those, the ones that agree with the truth.</param>
/// <param name="TruthPairs">Truth rows of this kind that pair something.</param>
public sealed record KindEvaluation(string Kind, int Matched, int CorrectMatched, int TruthPairs)
{
    /// <summary>Correct matched / matched (1 when nothing was matched).</summary>
    public double Precision => Matched == 0 ? 1.0 : (double)CorrectMatched / Matched;

    /// <summary>Correct matched / truth pairs (1 when the truth pairs nothing).</summary>
    public double Recall => TruthPairs == 0 ? 1.0 : (double)CorrectMatched / TruthPairs;
}
