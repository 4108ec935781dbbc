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
    private readonly int _threads;
    private readonly int _minPerThread;

    /// <summary>A matcher using two threads (index build beside the repeat checks, the candidate search and the uncontested
    /// decisions split in two; verdicts are the same as on one).</summary>
    /// <remarks>Two, not the machine's core count: matching stays free of the environment, and on one core the second
    /// half simply runs after the first.</remarks>
    public Matcher(MatchRules rules)
        : this(rules, MaxThreads)
    {
    }

    /// <param name="rules">The rules to apply.</param>
    /// <param name="threads">1 to match on the calling thread only; 2 to run the repeat checks beside the index build and
    /// to collect candidates and decide uncontested pairs for half of them on a second thread. The verdicts do not depend
    /// on it.</param>
    public Matcher(MatchRules rules, int threads)
        : this(rules, threads, MatchSession.DefaultMinTransactionsPerThread)
    {
    }

    /// <param name="rules">The rules to apply.</param>
    /// <param name="threads">1 or 2, as above.</param>
    /// <param name="minTransactionsPerThread">Inputs smaller than this per thread run on one thread (default 10,000:
    /// below it a second thread costs more than it saves). Tests set 1 to split even tiny inputs.</param>
    public Matcher(MatchRules rules, int threads, int minTransactionsPerThread)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(threads, MaxThreads);
        ArgumentOutOfRangeException.ThrowIfLessThan(minTransactionsPerThread, 1);
        rules.Validate();
        _rules = rules;
        _threads = threads;
        _minPerThread = minTransactionsPerThread;
    }

    /// <summary>The candidate search splits in two halves at most: the machines this runs on have two cores.</summary>
    public const int MaxThreads = 2;

    /// <summary>The rules this matcher applies.</summary>
    public MatchRules Rules => _rules;

    /// <inheritdoc />
    public MatchRun Match(IReadOnlyList<ProviderTransaction> transactions, IReadOnlyList<LedgerEntry> ledger)
    {
        ArgumentNullException.ThrowIfNull(transactions);
        ArgumentNullException.ThrowIfNull(ledger);
        return new MatchSession(_rules, transactions, ledger, _threads, _minPerThread).Run();
    }
}
