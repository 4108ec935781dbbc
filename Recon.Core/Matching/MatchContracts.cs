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
public sealed record MatchResult(
    string Provider,
    string ProviderTxId,
    IReadOnlyList<string> LedgerIds,
    MatchOutcome Outcome,
    string Reason,
    int Score,
    long DifferenceMinor,
    string Rule,
    string? GroupKey = null);

/// <summary>The outcome of matching a set of provider transactions against a set of ledger candidates.</summary>
/// <param name="Results">One result per provider transaction given (duplicates included, flagged).</param>
/// <param name="UnmatchedLedgerIds">Ledger candidates that nothing matched.</param>
public sealed record MatchRun(IReadOnlyList<MatchResult> Results, IReadOnlyList<string> UnmatchedLedgerIds);

/// <summary>Pure matching: no I/O, no clock; the same input in any order gives the same run.</summary>
public interface IMatcher
{
    MatchRun Match(IReadOnlyList<ProviderTransaction> transactions, IReadOnlyList<LedgerEntry> ledger);
}
