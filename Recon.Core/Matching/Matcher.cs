using Recon.Core.Domain;

namespace Recon.Core.Matching;

/// <summary>
/// The scoring matcher: keys, tolerances, 1:1, 1:N and N:1 groups, duplicates and ties, with no I/O and no clock.
/// </summary>
/// <remarks>
/// <para>Every candidate pair gets a score (key 0..650 + amount 0..250 + date 0..100). Pairs are then decided level by
/// level from the highest score down; within a level a pair is taken only when it is the single remaining candidate
/// of both its transaction and its ledger entry, otherwise the tie is flagged (ambiguous, or duplicate when the
/// competing payments are identical). Decisions depend only on sets of pairs, never on input order.</para>
/// <para>Hash indexes on external reference and reference, and per (currency, day) buckets sorted by amount, keep it
/// linear: a transaction whose key already confirms it never touches the buckets.</para>
/// </remarks>
public sealed class Matcher : IMatcher
{
    private readonly MatchRules _rules;

    public Matcher(MatchRules rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        rules.Validate();
        _rules = rules;
    }

    /// <summary>The rules this matcher applies.</summary>
    public MatchRules Rules => _rules;

    /// <inheritdoc />
    public MatchRun Match(IReadOnlyList<ProviderTransaction> transactions, IReadOnlyList<LedgerEntry> ledger)
    {
        ArgumentNullException.ThrowIfNull(transactions);
        ArgumentNullException.ThrowIfNull(ledger);
        return new MatchSession(_rules, transactions, ledger).Run();
    }
}
