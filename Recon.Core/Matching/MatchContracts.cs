using Recon.Core.Domain;

namespace Recon.Core.Matching;

/// <summary>The verdict on one provider transaction, as stored in <c>reconciliation_results.outcome</c>.</summary>
public enum MatchOutcome
{
    Matched,
    Proposed,
    Ambiguous,
    Unmatched,
    Duplicate,
}

/// <summary>One provider transaction's verdict.</summary>
/// <param name="Provider">Provider of the transaction.</param>
/// <param name="ProviderTxId">Provider id of the transaction.</param>
/// <param name="LedgerIds">Ledger entries it matched or was proposed against; empty when none.</param>
/// <param name="Outcome">The verdict.</param>
/// <param name="Reason">Why, as a named reason (the matcher's closed set, ordered by precedence).</param>
/// <param name="Score">0..1000; at or above the confirm threshold a candidate is matched.</param>
/// <param name="DifferenceMinor">Provider amount minus ledger amount, in minor units.</param>
/// <param name="Rule">Name of the rule that decided it.</param>
/// <param name="GroupKey">Set when the result is part of a 1:N or N:1 group: every member carries the same key.</param>
/// <param name="Evidence">The parts of <paramref name="Score"/>: why it is what it is.</param>
public sealed record MatchResult(
    string Provider,
    string ProviderTxId,
    IReadOnlyList<string> LedgerIds,
    MatchOutcome Outcome,
    string Reason,
    int Score,
    long DifferenceMinor,
    string Rule,
    string? GroupKey = null,
    MatchEvidence Evidence = default);

/// <summary>
/// The parts of a score (each 0..its maximum in <see cref="MatchScoring"/>), so a reviewer sees why a verdict is what it is.
/// </summary>
/// <remarks>The score is their sum, at most <see cref="MatchScoring.MaxScore"/>, and held under the confirm threshold when
/// a tolerance, window or currency rule failed (the reason says which). Counterparty and uniqueness are computed only
/// when they could change the verdict, so a part of 0 means "not needed" as well as "not found".</remarks>
/// <param name="Key">Reference evidence: exact key, bank reference, transposed or typo'd reference.</param>
/// <param name="Amount">Amount agreement within the tolerance.</param>
/// <param name="Date">Value-date distance within the window.</param>
/// <param name="Counterparty">The ledger counterparty (or description) named in the payment's description.</param>
/// <param name="Uniqueness">The amount is the only one of its size in the window and currency.</param>
/// <param name="Group">A group under one exact reference whose amounts add up exactly.</param>
public readonly record struct MatchEvidence(int Key, int Amount, int Date, int Counterparty, int Uniqueness, int Group)
{
    /// <summary>The parts added up (before the cap at <see cref="MatchScoring.MaxScore"/>).</summary>
    public int Sum => Key + Amount + Date + Counterparty + Uniqueness + Group;
}

/// <summary>The outcome of matching a set of provider transactions against a set of ledger candidates.</summary>
/// <param name="Results">One result per provider transaction given (duplicates included, flagged).</param>
/// <param name="UnmatchedLedgerIds">Ledger candidates that nothing matched.</param>
public sealed record MatchRun(IReadOnlyList<MatchResult> Results, IReadOnlyList<string> UnmatchedLedgerIds);

/// <summary>Pure matching: no I/O, no clock; the same input in any order gives the same run.</summary>
public interface IMatcher
{
    MatchRun Match(IReadOnlyList<ProviderTransaction> transactions, IReadOnlyList<LedgerEntry> ledger);
}
