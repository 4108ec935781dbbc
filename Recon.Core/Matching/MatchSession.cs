using System.Runtime.InteropServices;
using Recon.Core.Domain;

namespace Recon.Core.Matching;

/// <summary>One run of <see cref="Matcher"/>: indexes, candidate pairs, groups, level-by-level assignment.</summary>
internal sealed class MatchSession
{
    private const byte LedgerFree = 0;
    private const byte LedgerUsed = 1;
    private const byte LedgerReserved = 2;

    private enum Kind : byte
    {
        ExternalRef,
        EndToEnd,
        Reference,
        Fuzzy,
        AmountDate,
        GroupOneToMany,
        GroupManyToOne,
        AmountSum,
        Transposed,
    }

    private static readonly string[] KindNames =
    [
        MatchRuleNames.ExternalRef, MatchRuleNames.EndToEndId, MatchRuleNames.Reference, MatchRuleNames.ReferenceFuzzy,
        MatchRuleNames.AmountDate, MatchRuleNames.GroupOneToMany, MatchRuleNames.GroupManyToOne, MatchRuleNames.AmountSum,
        MatchRuleNames.ReferenceTransposed,
    ];

    // rule id = kind * 4 + (net ? 1 : 0) + (converted ? 2 : 0); names built once so results share the strings.
    private static readonly string[] RuleNames = BuildRuleNames();
    private static readonly string[] ReasonNames = Enum.GetNames<MatchReason>();

    // 24 bytes in this order (a million and more of them per run): the widest field first, a score fits 16 bits, and
    // the score's parts fill the padding (the key part follows from the rule; the counterparty part is stored halved)
    private struct Edge
    {
        public long Diff;
        public int Tx;
        public int Ledger;
        public short Score;
        public byte Rule;
        public MatchReason Reason;
        public byte Amount;
        public byte Date;
        public byte HalfCounterparty;
        public byte Uniqueness;

        public readonly MatchEvidence Evidence => new(KeyScore((Kind)(Rule / 4)), Amount, Date, HalfCounterparty * 2, Uniqueness, 0);
    }

    private sealed class Group
    {
        public required int[] Tx { get; init; }
        public required int[] Ledger { get; init; }
        public int Score { get; init; }
        public long Diff { get; init; }
        public byte Rule { get; init; }
        public MatchReason Reason { get; init; }
        public required string Key { get; init; }
        public MatchEvidence Evidence { get; init; }
    }

    private sealed class Bucket(long[] amounts, int[] ledger)
    {
        public long[] Amounts { get; } = amounts;
        public int[] Ledger { get; } = ledger;

        /// <summary>True where the run of equal amounts holding the position is in id order.</summary>
        public bool[] Settled { get; } = new bool[amounts.Length];
    }

    private readonly MatchRules _r;
    private readonly ProviderTransaction[] _tx;
    private readonly LedgerEntry[] _led;
    private readonly int _window;
    private readonly int _span;
    private readonly bool _business;
    private readonly int[] _dupOf;
    private readonly MatchResult?[] _results;
    private readonly byte[] _ledState;
    private readonly int[] _bestScore;
    private readonly byte[] _bestRule;
    private readonly MatchReason[] _bestReason;
    private readonly MatchEvidence[] _bestEvidence;
    // description tokens, computed the first time a candidate needs counterparty evidence
    private readonly string[]?[] _txTokens;
    private string[]?[]? _ledCounterpartyTokens;
    private string[]?[]? _ledDescriptionTokens;
    private readonly bool[] _lost;
    // Per entry: which transaction (t + 1) last paired with it and that pair's edge, for transactions with more than
    // MaxPairsSearchedInPlace pairs (a long shared key); allocated the first time one comes.
    private (int Tx, int Edge)[]? _ledMark;
    private int _stampedTx = -1;
    // where the pairs of the transaction being collected start in _edges
    private int _txEdgeStart;

    /// <summary>Pairs of one transaction searched by a scan before stamps are used: a bucket scan gives at most
    /// MaxBucketCandidates (24) and a key a few, so nearly every transaction stays under it.</summary>
    private const int MaxPairsSearchedInPlace = 64;

    // 24 bytes: what scoring a bucket candidate reads, so it costs one cache line instead of the record and its strings
    private struct LedgerFacts
    {
        public long Amount;
        public int Day;
        public int Currency;
        public uint ReferenceShape;
        public uint ExternalRefShape;
    }

    private LedgerFacts[] _facts = [];
    private int _txCurrency;
    // shapes of the scanned transaction's end-to-end id, bank reference and provider id (see ReferenceShapes)
    private uint _txEndToEndShape;
    private uint _txBankShape;
    private uint _txIdShape;
    // the equal-amount count of the last ScanEqual (transaction, amount): reused for the uniqueness part
    private int _equalTx = -1;
    private long _equalAmount;
    private int _equalCount;
    // Every distinct key string (ledger external refs and references, provider ids) gets an int id, so each string is
    // hashed once per run: a provider id's one lookup finds its duplicate copies, its external-ref entries and its
    // reference entries together. Entries sharing a key are contiguous in _extItems / _refItems (k's entries are
    // [ExtStart(k), ExtStart(k + 1))), arrays instead of linked chains. Both starts of a key sit side by side in
    // _starts, so looking a key up in both indexes costs one cache miss.
    private KeyTable _keyIds = null!;
    private int _ledgerKeys;
    private int[] _starts = null!;
    private int[] _extItems = null!;
    private int[] _refItems = null!;
    // each provider id's string hash, computed once when repeats are flagged and used again to look the id up
    private readonly uint[] _txHash;
    private Bucket?[] _buckets = [];
    private Comparer<int>? _byId;
    private Comparer<int>? _byProviderId;

    /// <summary>Orders ledger indexes by entry id (ordinal): the tie-break that keeps caps independent of input order.</summary>
    private Comparer<int> ById => _byId ??= Comparer<int>.Create((x, y) => string.CompareOrdinal(_led[x].Id, _led[y].Id));
    private readonly Dictionary<string, int> _currencies = new(StringComparer.Ordinal);
    private string? _lastCurrency;
    private int _lastCurrencyIndex = -1;
    private int _minDay;
    private int _days;
    private Edge[] _edges;
    private int _edgeCount;
    // collected per thread (see Fork), joined in transaction order
    private List<Group> _groups = [];
    private List<long> _partials = [];
    private List<int> _chain = [];
    private readonly int _threads;

    /// <summary>Fewer transactions than this (per thread) are matched on one thread: starting a second costs more than
    /// it saves. Tests lower it to split small inputs.</summary>
    public const int DefaultMinTransactionsPerThread = 10_000;
    private readonly int _minPerThread;
    private bool _grouped;

    public MatchSession(MatchRules rules, IReadOnlyList<ProviderTransaction> transactions, IReadOnlyList<LedgerEntry> ledger, int threads = 1,
        int minTransactionsPerThread = DefaultMinTransactionsPerThread)
    {
        _r = rules;
        _threads = Math.Max(1, threads);
        _minPerThread = Math.Max(1, minTransactionsPerThread);
        _tx = [.. transactions];
        _led = [.. ledger];
        _window = rules.DateWindowDays;
        _business = rules.BusinessDays;
        _span = MatchScoring.CalendarSpan(_window, _business);
        _dupOf = new int[_tx.Length];
        _txHash = new uint[_tx.Length];
        _results = new MatchResult?[_tx.Length];
        _ledState = new byte[_led.Length];
        _bestScore = new int[_tx.Length];
        _bestRule = new byte[_tx.Length];
        _bestReason = new MatchReason[_tx.Length];
        _bestEvidence = new MatchEvidence[_tx.Length];
        _txTokens = new string[]?[_tx.Length];
        _lost = new bool[_tx.Length];
        _edges = new Edge[Math.Max(16, _tx.Length + (_tx.Length / 4))];
    }

    public MatchRun Run()
    {
        if (_threads > 1 && _tx.Length + _led.Length >= 2 * _minPerThread)
        {
            // Checking ledger ids and flagging repeated transactions read only the inputs and write only their own
            // arrays; the key table and the buckets are built meanwhile on this thread. A repeated ledger id is reported
            // before anything the index build refuses, as on one thread.
            var checks = Task.Run(() =>
            {
                RefuseRepeatedIds();
                FlagRepeatedTransactions();
            });
            Exception? buildError = null;
            try
            {
                BuildIndexes();
            }
            catch (ArgumentException ex)
            {
                buildError = ex;
            }
            checks.GetAwaiter().GetResult();
            if (buildError is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(buildError);
            }
        }
        else
        {
            RefuseRepeatedIds();
            BuildIndexes();
            FlagRepeatedTransactions();
        }
        Array.Fill(_bestScore, -1);
        if (_threads > 1 && _tx.Length >= 2 * _minPerThread)
        {
            // Collecting candidates reads the shared indexes and writes only per-transaction slots and per-thread lists,
            // so halves of the transactions are collected side by side; joined in transaction order, the pairs are
            // exactly the ones one thread would have collected, in the same order, hence the same verdicts.
            var mid = _tx.Length / 2;
            var second = Fork();
            var other = Task.Run(() => second.CollectRange(mid, _tx.Length));
            CollectRange(0, mid);
            other.GetAwaiter().GetResult();
            Join(second);
        }
        else
        {
            CollectRange(0, _tx.Length);
        }
        FormManyToOneGroups();
        DecideGroups();
        DecideEdges();
        SearchAmountSums();
        return Finish();
    }

    private void CollectRange(int from, int to)
    {
        for (var t = from; t < to; t++)
        {
            if (_dupOf[t] < 0)
            {
                Collect(t);
            }
        }
    }

    /// <summary>A copy that shares the indexes and the per-transaction arrays but collects into lists of its own.</summary>
    private MatchSession Fork()
    {
        var w = (MatchSession)MemberwiseClone();
        w._edges = new Edge[Math.Max(16, _edges.Length / 2)];
        w._edgeCount = 0;
        w._groups = [];
        w._partials = [];
        w._chain = [];
        w._ledMark = null;
        w._stampedTx = -1;
        w._lastCurrency = null;
        w._lastCurrencyIndex = -1;
        // token caches are filled lazily; each thread keeps its own rather than racing on one
        w._ledCounterpartyTokens = null;
        w._ledDescriptionTokens = null;
        return w;
    }

    /// <summary>Appends what a fork collected (for later transactions) after this session's own.</summary>
    private void Join(MatchSession w)
    {
        if (_edgeCount + w._edgeCount > _edges.Length)
        {
            Array.Resize(ref _edges, _edgeCount + w._edgeCount);
        }
        Array.Copy(w._edges, 0, _edges, _edgeCount, w._edgeCount);
        _edgeCount += w._edgeCount;
        _groups.AddRange(w._groups);
        _partials.AddRange(w._partials);
    }

    /// <summary>
    /// Marks every repeat of a (provider, provider id) pair as a duplicate of one canonical copy, keeping each id's hash
    /// for its lookup in the ledger keys (when its candidates are collected).
    /// </summary>
    /// <remarks>Repeats are found by sorting (hash, index) pairs, as ledger ids are (<see cref="RefuseRepeatedIds"/>):
    /// interning a million provider ids into the key table cost a random probe each and doubled the table every other
    /// probe walks. The canonical copy is the first in input order of those smallest by content, as an input-order
    /// pass would choose it.</remarks>
    private void FlagRepeatedTransactions()
    {
        var n = _tx.Length;
        Array.Fill(_dupOf, -1);
        var keyed = GC.AllocateUninitializedArray<ulong>(n);
        for (var t = 0; t < n; t++)
        {
            var hash = KeyTable.Hash(_tx[t].ProviderTxId);
            _txHash[t] = hash;
            keyed[t] = ((ulong)hash << 32) | (uint)t;
        }
        SortByHigh32(keyed);
        int[]? run = null;
        for (var at = 1; NextEqualHashRun(keyed, at, out var from, out var to); at = to)
        {
            // a run of equal hashes (stable sort: indexes ascending); ordered by (provider, id, index) so each
            // (provider, id) is contiguous, in input order, however long the run
            var count = to - from;
            if (run is null || run.Length < count)
            {
                run = new int[Math.Max(count, 16)];
            }
            for (var j = 0; j < count; j++)
            {
                run[j] = (int)(uint)keyed[from + j];
            }
            Array.Sort(run, 0, count, ByProviderIdThenIndex);
            for (var g = 0; g < count;)
            {
                var end = g + 1;
                while (end < count && SameProviderId(_tx[run[g]], _tx[run[end]]))
                {
                    end++;
                }
                var kept = run[g];
                for (var j = g + 1; j < end; j++)
                {
                    if (CompareContent(_tx[run[j]], _tx[kept]) < 0)
                    {
                        kept = run[j];
                    }
                }
                for (var j = g; j < end; j++)
                {
                    _dupOf[run[j]] = run[j] == kept ? -1 : kept;
                }
                g = end;
            }
        }
    }

    /// <summary>
    /// The next run of two or more (hash, index) pairs with equal hashes in <paramref name="keyed"/> (sorted by hash),
    /// looking from position <paramref name="at"/> on: [<paramref name="from"/>, <paramref name="to"/>). False when no run
    /// is left. Both repeat checks walk the sorted pairs with it.
    /// </summary>
    private static bool NextEqualHashRun(ulong[] keyed, int at, out int from, out int to)
    {
        for (var i = Math.Max(at, 1); i < keyed.Length; i++)
        {
            if (keyed[i] >> 32 == keyed[i - 1] >> 32)
            {
                from = i - 1;
                to = i + 1;
                while (to < keyed.Length && keyed[to] >> 32 == keyed[from] >> 32)
                {
                    to++;
                }
                return true;
            }
        }
        from = to = keyed.Length;
        return false;
    }

    private Comparer<int> ByProviderIdThenIndex => _byProviderId ??= Comparer<int>.Create((x, y) =>
    {
        var c = CompareIds(_tx[x], _tx[y]);
        return c != 0 ? c : x.CompareTo(y);
    });

    private static bool SameProviderId(ProviderTransaction a, ProviderTransaction b)
        => string.Equals(a.ProviderTxId, b.ProviderTxId, StringComparison.Ordinal) && string.Equals(a.Provider, b.Provider, StringComparison.Ordinal);

    private void BuildIndexes()
    {
        var n = _led.Length;
        // sized for every ledger key distinct, so it never rehashes while filling (provider ids are only looked up)
        _keyIds = new KeyTable(CountLedgerKeys());
        var extKey = new int[n];
        var refKey = new int[n];
        // buckets in a flat array indexed by (currency, day): no hashing per entry or per scanned day
        _minDay = int.MaxValue;
        var maxDay = int.MinValue;
        _facts = new LedgerFacts[n];
        string? lastCurrency = null;
        var lastIndex = -1;
        // one pass over the entries (each is read from memory once); later passes use the compact arrays
        for (var l = 0; l < n; l++)
        {
            var e = _led[l];
            extKey[l] = string.IsNullOrEmpty(e.ExternalRef) ? -1 : Intern(e.ExternalRef);
            refKey[l] = string.IsNullOrEmpty(e.Reference) ? -1 : Intern(e.Reference);
            if (!ReferenceEquals(e.Currency, lastCurrency))
            {
                lastCurrency = e.Currency;
                ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_currencies, e.Currency, out var exists);
                if (!exists)
                {
                    slot = _currencies.Count - 1;
                }
                lastIndex = slot;
            }
            var day = e.ValueDate.DayNumber;
            _facts[l] = new LedgerFacts
            {
                Amount = e.AmountMinor, Day = day, Currency = lastIndex,
                ReferenceShape = ReferenceShapes.Of(e.Reference), ExternalRefShape = ReferenceShapes.Of(e.ExternalRef),
            };
            _minDay = Math.Min(_minDay, day);
            maxDay = Math.Max(maxDay, day);
        }
        _ledgerKeys = _keyIds.Count;
        (var extStart, _extItems) = Spans(extKey);
        (var refStart, _refItems) = Spans(refKey);
        _starts = new int[2 * (_ledgerKeys + 1)];
        for (var k = 0; k <= _ledgerKeys; k++)
        {
            _starts[2 * k] = extStart[k];
            _starts[(2 * k) + 1] = refStart[k];
        }
        // A ledger spanning more days than this (a decade) is not one reconciliation window: refuse rather than allocate.
        const int MaxLedgerSpanDays = 3_660;
        _days = n == 0 ? 0 : maxDay - _minDay + 1;
        if (_days > MaxLedgerSpanDays)
        {
            throw new ArgumentException($"ledger value dates span {_days} days; at most {MaxLedgerSpanDays} are matched in one run", "ledger");
        }
        var counts = new int[_currencies.Count * _days];
        var slotOf = new int[n];
        for (var l = 0; l < n; l++)
        {
            slotOf[l] = (_facts[l].Currency * _days) + (_facts[l].Day - _minDay);
            counts[slotOf[l]]++;
        }
        _buckets = new Bucket?[counts.Length];
        for (var b = 0; b < counts.Length; b++)
        {
            if (counts[b] > 0)
            {
                _buckets[b] = new Bucket(new long[counts[b]], new int[counts[b]]);
            }
        }
        Array.Clear(counts);
        for (var l = 0; l < n; l++)
        {
            var b = _buckets[slotOf[l]]!;
            var i = counts[slotOf[l]]++;
            b.Amounts[i] = _facts[l].Amount;
            b.Ledger[i] = l;
        }
        foreach (var b in _buckets)
        {
            if (b is not null)
            {
                Array.Sort(b.Amounts, b.Ledger); // equal amounts are put in id order by LedgerAt, when first read
            }
        }
    }

    /// <summary>How many non-empty external references and references the ledger entries carry.</summary>
    private int CountLedgerKeys()
    {
        var keys = 0;
        foreach (var e in _led)
        {
            keys += (string.IsNullOrEmpty(e.ExternalRef) ? 0 : 1) + (string.IsNullOrEmpty(e.Reference) ? 0 : 1);
        }
        return keys;
    }

    /// <summary>
    /// Throws when two ledger entries share an id (that would let one entry be used twice: an input error, not a
    /// matching outcome).
    /// </summary>
    /// <remarks>Ids are checked by sorting (hash, index) pairs, not through a hash table: a radix sort reads and writes
    /// memory in order, where a table of a million ids costs a cache and TLB miss per id (this was a fifth of the
    /// index build). Equal hashes are compared as strings; a repeat found is reported by the input-order pass, so the
    /// message names the first repeated id as before.</remarks>
    private void RefuseRepeatedIds()
    {
        var n = _led.Length;
        var keyed = GC.AllocateUninitializedArray<ulong>(n);
        for (var l = 0; l < n; l++)
        {
            keyed[l] = ((ulong)KeyTable.Hash(_led[l].Id) << 32) | (uint)l;
        }
        SortByHigh32(keyed);
        for (var at = 1; NextEqualHashRun(keyed, at, out var from, out var to); at = to)
        {
            // a run of equal hashes: almost always one repeated id; distinct ids with one 32-bit hash are rare
            for (var a = from; a < to; a++)
            {
                for (var b = a + 1; b < to; b++)
                {
                    if (string.Equals(_led[(int)(uint)keyed[a]].Id, _led[(int)(uint)keyed[b]].Id, StringComparison.Ordinal))
                    {
                        ThrowFirstRepeatedId();
                    }
                }
            }
        }
    }

    private void ThrowFirstRepeatedId()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in _led)
        {
            if (!seen.Add(e.Id))
            {
                throw new ArgumentException($"ledger entry id '{e.Id}' appears more than once", "ledger");
            }
        }
    }

    /// <summary>Sorts by the upper 32 bits (stable, least significant byte first: four passes in memory order).</summary>
    private static void SortByHigh32(ulong[] a)
    {
        var tmp = GC.AllocateUninitializedArray<ulong>(a.Length);
        var counts = new int[256];
        var src = a;
        var dst = tmp;
        for (var shift = 32; shift < 64; shift += 8)
        {
            Array.Clear(counts);
            foreach (var v in src)
            {
                counts[(int)(v >> shift) & 0xFF]++;
            }
            var sum = 0;
            for (var b = 0; b < 256; b++)
            {
                var c = counts[b];
                counts[b] = sum;
                sum += c;
            }
            foreach (var v in src)
            {
                dst[counts[(int)(v >> shift) & 0xFF]++] = v;
            }
            (src, dst) = (dst, src);
        }
        // four passes: the sorted data is back in a
    }

    /// <summary>Ledger entry at position <paramref name="i"/> of a bucket, its run of equal amounts in id order.</summary>
    /// <remarks>Which neighbours fit under a cap must not depend on input order, so equal amounts are ordered by id;
    /// most runs are never read (keys decide most transactions), so each is ordered the first time a scan reaches it.</remarks>
    private int LedgerAt(Bucket b, int i)
    {
        if (!Volatile.Read(ref b.Settled[i]))
        {
            SettleRun(b, i);
        }
        return b.Ledger[i];
    }

    /// <summary>Puts the run of equal amounts holding position <paramref name="i"/> in id order, once.</summary>
    /// <remarks>Two collecting threads may reach one run: the bucket's lock makes one of them sort it, and the barrier
    /// publishes the sorted entries before the flags that say so (a reader checks the flag first).</remarks>
    private void SettleRun(Bucket b, int i)
    {
        lock (b)
        {
            if (b.Settled[i])
            {
                return;
            }
            var a = b.Amounts;
            var from = i;
            var to = i + 1;
            while (from > 0 && a[from - 1] == a[i])
            {
                from--;
            }
            while (to < a.Length && a[to] == a[i])
            {
                to++;
            }
            if (to - from > 1)
            {
                Array.Sort(b.Ledger, from, to - from, ById);
            }
            Interlocked.MemoryBarrier();
            Array.Fill(b.Settled, true, from, to - from);
        }
    }

    private int Intern(string key)
    {
        return _keyIds.GetOrAdd(key, out _);
    }

    /// <summary>Key id of a string, or -1 when no ledger entry carries it (provider ids interned later have no entries).</summary>
    private int LedgerKey(string? key)
        => !string.IsNullOrEmpty(key) && _keyIds.Find(key) is var k && k < _ledgerKeys ? k : -1;

    private int ExtStart(int k) => _starts[2 * k];

    private int RefStart(int k) => _starts[(2 * k) + 1];

    private (int[] Start, int[] Items) Spans(int[] keyOf)
    {
        var start = new int[_ledgerKeys + 1];
        var total = 0;
        foreach (var k in keyOf)
        {
            if (k >= 0)
            {
                start[k + 1]++;
                total++;
            }
        }
        for (var k = 0; k < _ledgerKeys; k++)
        {
            start[k + 1] += start[k];
        }
        var items = new int[total];
        var fill = (int[])start.Clone();
        for (var l = 0; l < keyOf.Length; l++)
        {
            if (keyOf[l] >= 0)
            {
                items[fill[keyOf[l]]++] = l;
            }
        }
        // Only the first MaxCandidatesPerKey entries of a key are scored: a longer span is put in id order so which
        // ones does not depend on input order (shorter spans are scored whole, their order does not matter).
        for (var k = 0; k < _ledgerKeys; k++)
        {
            if (start[k + 1] - start[k] > _r.MaxCandidatesPerKey)
            {
                Array.Sort(items, start[k], start[k + 1] - start[k], ById);
            }
        }
        return (start, items);
    }

    // ---- candidates ----

    private void Collect(int t)
    {
        var tx = _tx[t];
        _grouped = false;
        _txEdgeStart = _edgeCount;
        _txCurrency = CurrencyIndex(tx.Currency);
        // provider ids are looked up, not added: only keys some ledger entry carries are in the table
        var k = string.IsNullOrEmpty(tx.ProviderTxId) ? -1 : _keyIds.Find(tx.ProviderTxId, _txHash[t]);
        if (k >= 0 && ExtStart(k) < ExtStart(k + 1))
        {
            KeyChain(t, _extItems, ExtStart(k), ExtStart(k + 1), Kind.ExternalRef, tx.ProviderTxId, false);
        }
        else if (k >= 0 && RefStart(k) < RefStart(k + 1))
        {
            // a ledger without an external_ref column may carry the provider id as its reference
            KeyChain(t, _refItems, RefStart(k), RefStart(k + 1), Kind.ExternalRef, tx.ProviderTxId, false);
        }
        if (!string.IsNullOrEmpty(tx.EndToEndId) && (k = LedgerKey(tx.EndToEndId)) >= 0)
        {
            if (RefStart(k) < RefStart(k + 1))
            {
                KeyChain(t, _refItems, RefStart(k), RefStart(k + 1), Kind.EndToEnd, tx.EndToEndId, true);
            }
            if (ExtStart(k) < ExtStart(k + 1) && tx.EndToEndId != tx.ProviderTxId)
            {
                KeyChain(t, _extItems, ExtStart(k), ExtStart(k + 1), Kind.EndToEnd, tx.EndToEndId, false);
            }
        }
        // a bank reference equal to the provider id was looked up above
        if (!string.IsNullOrEmpty(tx.BankReference) && tx.BankReference != tx.EndToEndId && tx.BankReference != tx.ProviderTxId
            && (k = LedgerKey(tx.BankReference)) >= 0)
        {
            if (RefStart(k) < RefStart(k + 1))
            {
                KeyChain(t, _refItems, RefStart(k), RefStart(k + 1), Kind.Reference, tx.BankReference, true);
            }
            // Stripe's source id (the charge, refund or payout a balance transaction belongs to) is what a ledger records
            // as the external reference it expects: as exact as the provider id itself
            if (ExtStart(k) < ExtStart(k + 1))
            {
                KeyChain(t, _extItems, ExtStart(k), ExtStart(k + 1), Kind.ExternalRef, tx.BankReference, false);
            }
        }
        if (!string.IsNullOrEmpty(tx.GroupId) && tx.GroupId != tx.BankReference && tx.GroupId != tx.EndToEndId
            && (k = LedgerKey(tx.GroupId)) >= 0 && RefStart(k) < RefStart(k + 1))
        {
            KeyChain(t, _refItems, RefStart(k), RefStart(k + 1), Kind.Reference, tx.GroupId, true);
        }
        // a transaction already explained by a key (alone, as a group or as part of one) never touches the buckets
        if (_bestScore[t] < _r.ConfirmThreshold && !_grouped)
        {
            ScanBuckets(t);
        }
    }

    private void KeyChain(int t, int[] items, int from, int to, Kind kind, string key, bool mayGroup)
    {
        var count = to - from;
        if (count >= 2 && mayGroup && count <= _r.MaxGroupMembers && TryOneToMany(t, items, from, to, key))
        {
            _grouped = true;
            return; // members of a group are not also scored one by one
        }
        if (count == 1)
        {
            NotePartial(t, items[from]);
        }
        var end = Math.Min(to, from + _r.MaxCandidatesPerKey);
        for (var i = from; i < end; i++)
        {
            AddEdge(t, items[i], kind);
        }
    }

    private void NotePartial(int t, int l)
    {
        var tx = _tx[t];
        var whole = _facts[l].Amount;
        // A part is smaller than the whole, same currency and direction, and not a match on its own.
        if (_facts[l].Currency == _txCurrency && Math.Sign(tx.AmountMinor) == Math.Sign(whole)
            && Math.Abs(tx.AmountMinor) < Math.Abs(whole) - _r.ToleranceFor(whole))
        {
            _partials.Add(((long)l << 32) | (uint)t);
            _grouped = true;
        }
    }

    private bool TryOneToMany(int t, int[] items, int from, int to, string key)
    {
        var tx = _tx[t];
        long sum = 0;
        // A payout or deposit collects receipts from several days and settles after the latest of them, so the
        // window is measured to the nearest member, not the oldest.
        var nearestDays = int.MaxValue;
        _chain.Clear();
        for (var i = from; i < to; i++)
        {
            var l = items[i];
            var le = _led[l];
            if (le.Currency != tx.Currency)
            {
                return false;
            }
            sum += le.AmountMinor;
            nearestDays = Math.Min(nearestDays, MatchScoring.DayDistance(tx.ValueDate, le.ValueDate, _business));
            _chain.Add(l);
        }
        var tol = _r.ToleranceFor(sum);
        var (diff, net) = Closer(tx, tx.AmountMinor - sum, tx.NetMinor - sum);
        if (Math.Abs(diff) > tol)
        {
            return false;
        }
        var evidence = new MatchEvidence(MatchScoring.KeyReference, MatchScoring.AmountScore(diff, tol),
            MatchScoring.DateScore(nearestDays, _window), 0, 0, diff == 0 ? MatchScoring.GroupExactSum : 0);
        var (score, reason) = Combine(evidence, nearestDays, true);
        if (score < _r.ProposeThreshold)
        {
            return false;
        }
        _groups.Add(new Group
        {
            Tx = [t],
            Ledger = [.. _chain],
            Score = score,
            Diff = diff,
            Rule = RuleId(Kind.GroupOneToMany, net, false),
            Reason = reason,
            Key = "1n:" + key,
            Evidence = evidence,
        });
        return true;
    }

    private (long Diff, bool Net) Closer(ProviderTransaction tx, long grossDiff, long netDiff)
        => _r.FeeNetting && tx.FeeMinor != 0 && Math.Abs(netDiff) < Math.Abs(grossDiff) ? (netDiff, true) : (grossDiff, false);

    private (int Score, MatchReason Reason) Combine(in MatchEvidence evidence, int days, bool amountOk)
    {
        var dateOk = days <= _window;
        var score = Math.Min(MatchScoring.MaxScore, evidence.Sum);
        var reason = !amountOk ? MatchReason.AmountOutsideTolerance
            : !dateOk ? MatchReason.DateOutsideWindow
            : score < _r.ConfirmThreshold ? MatchReason.BelowConfirmThreshold
            : MatchReason.Matched;
        if (reason != MatchReason.Matched)
        {
            // never matched outside a tolerance, whatever the key says
            score = Math.Min(score, _r.ConfirmThreshold - 1);
        }
        return (score, reason);
    }

    private void ScanBuckets(int t)
    {
        var tx = _tx[t];
        _txEndToEndShape = ReferenceShapes.Of(tx.EndToEndId);
        _txBankShape = ReferenceShapes.Of(tx.BankReference);
        _txIdShape = ReferenceShapes.Of(tx.ProviderTxId);
        var netToo = _r.FeeNetting && tx.FeeMinor != 0;
        var c = _txCurrency;
        // Each day's position of the amount (and of the net amount) is found once, by ScanEqual, and walked from by
        // ScanNear: a binary search in a day's bucket is a handful of cache misses, the largest cost of a scan.
        var days = (2 * _span) + 1;
        Span<int> grossAt = days <= 32 ? stackalloc int[days] : new int[days];
        Span<int> netAt = !netToo ? default : days <= 32 ? stackalloc int[days] : new int[days];
        // equal amounts first (a typo'd reference still carries the right amount), then the nearest within reach
        var budget = ScanEqual(t, c, tx.AmountMinor, _r.MaxBucketCandidates, grossAt);
        if (netToo)
        {
            budget = ScanEqual(t, c, tx.NetMinor, budget, netAt);
        }
        var perDay = Math.Max(2, budget / days / (netToo ? 2 : 1));
        ScanNear(t, c, tx.AmountMinor, perDay, grossAt);
        if (netToo)
        {
            ScanNear(t, c, tx.NetMinor, perDay, netAt);
        }
    }

    /// <summary>Considers the entries of exactly <paramref name="amount"/> over the window, within
    /// <paramref name="budget"/>; returns the budget left. <paramref name="starts"/> receives each day's lower bound of
    /// the amount (-1 for a day without a bucket).</summary>
    private int ScanEqual(int t, int currency, long amount, int budget, Span<int> starts)
    {
        var tx = _tx[t];
        var day = tx.ValueDate.DayNumber;
        var days = (2 * _span) + 1;
        // First every day's run of equal amounts is found and counted over the window: the uniqueness part of an
        // equal-amount candidate is that count (a binary search per day is the cost of a transaction without a key,
        // so it is paid once, not again per candidate).
        var equal = 0;
        for (var k = 0; k < days; k++)
        {
            starts[k] = -1;
            if (TryBucket(currency, day - _span + k, out var b))
            {
                var i = starts[k] = LowerBound(b.Amounts, amount);
                if (MatchScoring.DayDistance(tx.ValueDate, DateOnly.FromDayNumber(day - _span + k), _business) <= _window)
                {
                    while (i < b.Amounts.Length && b.Amounts[i] == amount)
                    {
                        i++;
                        equal++;
                    }
                }
            }
        }
        (_equalTx, _equalAmount, _equalCount) = (t, amount, equal);
        for (var k = 0; k < days && budget > 0; k++)
        {
            if (starts[k] >= 0 && TryBucket(currency, day - _span + k, out var b))
            {
                for (var i = starts[k]; i < b.Amounts.Length && b.Amounts[i] == amount && budget > 0; i++, budget--)
                {
                    Consider(t, LedgerAt(b, i));
                }
            }
        }
        return budget;
    }

    /// <summary>Considers up to <paramref name="perDay"/> entries a day nearest <paramref name="amount"/> within reach,
    /// walking out from <paramref name="starts"/> (ScanEqual's lower bounds of the same amount).</summary>
    private void ScanNear(int t, int currency, long amount, int perDay, ReadOnlySpan<int> starts)
    {
        // the tolerance depends on the ledger amount; twice the tolerance of this amount covers it, Evaluate decides exactly
        var reach = Math.Max(_r.AmountToleranceMinor, (2 * MatchRules.BasisPointsOf(amount, _r.AmountToleranceBasisPoints)) + 1);
        var day = _tx[t].ValueDate.DayNumber;
        for (var d = day - _span; d <= day + _span; d++)
        {
            if (!TryBucket(currency, d, out var b))
            {
                continue;
            }
            var a = b.Amounts;
            var lo = starts[d - (day - _span)] - 1;
            var hi = lo + 1;
            while (hi < a.Length && a[hi] == amount)
            {
                hi++;
            }
            for (var taken = 0; taken < perDay; taken++)
            {
                var leftOk = lo >= 0 && amount - a[lo] <= reach;
                var rightOk = hi < a.Length && a[hi] - amount <= reach;
                if (!leftOk && !rightOk)
                {
                    break;
                }
                if (leftOk && (!rightOk || amount - a[lo] <= a[hi] - amount))
                {
                    Consider(t, LedgerAt(b, lo--));
                }
                else
                {
                    Consider(t, LedgerAt(b, hi++));
                }
            }
        }
    }

    private void Consider(int t, int l)
    {
        var kind = MayBeTypo(l) ? TypoKind(_tx[t], _led[l]) : Kind.AmountDate;
        var e = Evaluate(t, l, kind);
        // without a key only a candidate inside every tolerance is worth a pair
        if (e.Reason is MatchReason.Matched or MatchReason.BelowConfirmThreshold or MatchReason.TypoNeedsExactAmount
            or MatchReason.LedgerExpectsOtherTransaction)
        {
            Keep(t, e);
        }
    }

    /// <summary>Index of a currency in the buckets, or -1 when no ledger entry is in it; looked up once per transaction.</summary>
    /// <remarks>Transactions in a row mostly carry the same currency string instance: then the last answer is reused,
    /// instead of hashing the code again (a dictionary lookup per transaction).</remarks>
    private int CurrencyIndex(string currency)
    {
        if (!ReferenceEquals(currency, _lastCurrency))
        {
            _lastCurrencyIndex = _currencies.TryGetValue(currency, out var c) ? c : -1;
            _lastCurrency = currency;
        }
        return _lastCurrencyIndex;
    }

    private bool TryBucket(int currency, int day, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Bucket? bucket)
    {
        bucket = null;
        var offset = day - _minDay;
        if (currency < 0 || offset < 0 || offset >= _days)
        {
            return false;
        }
        bucket = _buckets[(currency * _days) + offset];
        return bucket is not null;
    }

    private static int LowerBound(long[] a, long value)
    {
        int lo = 0, hi = a.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (a[mid] < value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo;
    }

    /// <summary>False when no reference pair <see cref="TypoKind"/> compares can be one edit apart, judged from the
    /// shapes alone: most bucket candidates are then scored without reading the entry's record or its strings.</summary>
    private bool MayBeTypo(int l)
    {
        if (!_r.FuzzyReferences)
        {
            return false;
        }
        ref readonly var f = ref _facts[l];
        var min = _r.MinFuzzyReferenceLength;
        return ReferenceShapes.MayBeOneEdit(_txEndToEndShape, f.ReferenceShape, min)
            || ReferenceShapes.MayBeOneEdit(_txBankShape, f.ReferenceShape, min)
            || ReferenceShapes.MayBeOneEdit(_txIdShape, f.ExternalRefShape, min)
            || ReferenceShapes.MayBeOneEdit(_txEndToEndShape, f.ExternalRefShape, min);
    }

    /// <summary>How the candidate's references relate: a long reference with two adjacent characters swapped, one
    /// other typo, or nothing (amount and date only).</summary>
    private Kind TypoKind(ProviderTransaction tx, LedgerEntry le)
    {
        if (!_r.FuzzyReferences)
        {
            return Kind.AmountDate;
        }
        var best = Kind.AmountDate;
        foreach (var (a, b) in (ReadOnlySpan<(string?, string?)>)[(tx.EndToEndId, le.Reference), (tx.BankReference, le.Reference),
            (tx.ProviderTxId, le.ExternalRef), (tx.EndToEndId, le.ExternalRef)])
        {
            if (!Near(a, b))
            {
                continue;
            }
            if (a!.Length >= MatchScoring.MinTransposedLength && MatchScoring.IsTransposition(a, b!))
            {
                return Kind.Transposed;
            }
            best = Kind.Fuzzy;
        }
        return best;
    }

    private bool Near(string? a, string? b)
        => a is not null && b is not null && a.Length >= _r.MinFuzzyReferenceLength && b.Length >= _r.MinFuzzyReferenceLength
            && MatchScoring.WithinOneEdit(a, b);

    private void AddEdge(int t, int l, Kind kind) => Keep(t, Evaluate(t, l, kind));

    private void Keep(int t, Edge e)
    {
        if (e.Score < _r.ProposeThreshold)
        {
            Best(t, e); // too weak to decide anything; remembered only to explain an unmatched verdict
            return;
        }
        // one pair per (transaction, entry): a transaction's pairs are the last ones collected, so a short list is
        // searched in place (in cache); a long one through per-entry stamps, which cost a cache miss per pair
        var existingAt = -1;
        var own = _edgeCount - _txEdgeStart;
        if (own <= MaxPairsSearchedInPlace)
        {
            for (var i = _txEdgeStart; i < _edgeCount; i++)
            {
                if (_edges[i].Ledger == e.Ledger)
                {
                    existingAt = i;
                    break;
                }
            }
        }
        else
        {
            existingAt = StampedPair(t, e.Ledger);
        }
        if (existingAt >= 0)
        {
            ref var existing = ref _edges[existingAt];
            if (e.Score > existing.Score)
            {
                existing = e;
                Best(t, e);
            }
            return;
        }
        if (_edgeCount == _edges.Length)
        {
            Array.Resize(ref _edges, _edges.Length * 2);
        }
        if (own > MaxPairsSearchedInPlace)
        {
            _ledMark![e.Ledger] = (t + 1, _edgeCount);
        }
        _edges[_edgeCount++] = e;
        Best(t, e);
    }

    /// <summary>The edge index of the pair (<paramref name="t"/>, <paramref name="l"/>), or -1; stamps the
    /// transaction's pairs collected so far the first time it is asked for <paramref name="t"/>.</summary>
    private int StampedPair(int t, int l)
    {
        _ledMark ??= new (int, int)[_led.Length];
        if (_stampedTx != t)
        {
            for (var i = _txEdgeStart; i < _edgeCount; i++)
            {
                _ledMark[_edges[i].Ledger] = (t + 1, i);
            }
            _stampedTx = t;
        }
        var mark = _ledMark[l];
        return mark.Tx == t + 1 ? mark.Edge : -1;
    }

    private void Best(int t, in Edge e)
    {
        // ties broken on rule then reason, so the explanation of an unmatched verdict does not depend on input order
        if (e.Score > _bestScore[t]
            || (e.Score == _bestScore[t] && (e.Rule < _bestRule[t] || (e.Rule == _bestRule[t] && e.Reason < _bestReason[t]))))
        {
            _bestScore[t] = e.Score;
            _bestReason[t] = e.Reason;
            _bestRule[t] = e.Rule;
            _bestEvidence[t] = e.Evidence;
        }
    }

    private Edge Evaluate(int t, int l, Kind kind)
    {
        var tx = _tx[t];
        // the entry's amount, day and currency from the compact copy: one cache line instead of the record
        var f = _facts[l];
        var gross = tx.AmountMinor;
        var netAmount = tx.NetMinor;
        var converted = false;
        long tol;
        if (f.Currency != _txCurrency)
        {
            var le = _led[l];
            var conversion = FindConversion(tx.Currency, le.Currency);
            var days0 = MatchScoring.DayDistance(tx.ValueDate, le.ValueDate, _business);
            if (conversion is null)
            {
                var (s0, _) = Combine(new MatchEvidence(KeyScore(kind), 0, MatchScoring.DateScore(days0, _window), 0, 0, 0), days0, false);
                return new Edge
                {
                    Tx = t, Ledger = l, Score = (short)s0, Diff = 0, Rule = RuleId(kind, false, false), Reason = MatchReason.CurrencyMismatch,
                    Date = (byte)MatchScoring.DateScore(days0, _window),
                };
            }
            gross = conversion.Convert(gross, tx.Currency);
            netAmount = conversion.Convert(netAmount, tx.Currency);
            tol = MatchRules.BasisPointsOf(le.AmountMinor, conversion.ToleranceBasisPoints);
            converted = true;
        }
        else
        {
            tol = _r.ToleranceFor(f.Amount);
        }
        var (diff, net) = Closer(tx, gross - f.Amount, netAmount - f.Amount);
        var amountOk = Math.Abs(diff) <= tol;
        var days = MatchScoring.DayDistance(tx.ValueDate, DateOnly.FromDayNumber(f.Day), _business);
        var amountPart = MatchScoring.AmountScore(diff, tol);
        var datePart = MatchScoring.DateScore(days, _window);
        var keyPart = KeyScore(kind);
        int cpPart = 0, uniquePart = 0;
        var basic = keyPart + amountPart + datePart;
        // Counterparty and uniqueness are looked at only where they can lift a candidate inside every tolerance to the
        // confirm threshold: most pairs are confirmed by their key and never pay for them (the 500k/CPU-second budget).
        if (amountOk && days <= _window && !converted && basic < _r.ConfirmThreshold
            && basic + MatchScoring.CounterpartyFull + MatchScoring.UniqueAmount >= _r.ConfirmThreshold)
        {
            // an equal amount is unique when no other entry has exactly it; an amount off by a charge when no other
            // entry is inside the tolerance either (any of them could be the one paid short)
            uniquePart = UniqueInWindow(t, f.Currency, net ? netAmount : gross, diff == 0 ? 0 : tol) ? MatchScoring.UniqueAmount : 0;
            cpPart = CounterpartyScore(t, l) & ~1; // even: the edge stores it halved
        }
        var evidence = new MatchEvidence(keyPart, amountPart, datePart, cpPart, uniquePart, 0);
        var (score, reason) = Combine(evidence, days, amountOk);
        if (reason == MatchReason.Matched && kind is Kind.Fuzzy or Kind.Transposed or Kind.AmountDate)
        {
            // Without an exact key two facts veto a confirmation (the pair is still proposed for a person): a plain typo
            // with an amount that is not exactly equal, and an entry that expects another provider transaction.
            var veto = kind == Kind.Fuzzy && diff != 0 ? MatchReason.TypoNeedsExactAmount
                : ExpectsOtherTransaction(tx, _led[l]) ? MatchReason.LedgerExpectsOtherTransaction
                : MatchReason.Matched;
            if (veto != MatchReason.Matched)
            {
                (score, reason) = (Math.Min(score, _r.ConfirmThreshold - 1), veto);
            }
        }
        return new Edge
        {
            Tx = t, Ledger = l, Score = (short)score, Diff = diff, Rule = RuleId(kind, net, converted), Reason = reason,
            Amount = (byte)amountPart, Date = (byte)datePart, HalfCounterparty = (byte)(cpPart / 2), Uniqueness = (byte)uniquePart,
        };
    }

    /// <summary>True when the entry names the provider transaction it expects (external_ref) and <paramref name="tx"/>
    /// carries neither that id nor one a typo away from it, as provider id, bank reference or end-to-end id.</summary>
    /// <remarks>Read only for a pair about to be confirmed without an exact key (rare), so the record is loaded then only.</remarks>
    private bool ExpectsOtherTransaction(ProviderTransaction tx, LedgerEntry le)
    {
        var expected = le.ExternalRef;
        if (string.IsNullOrEmpty(expected))
        {
            return false;
        }
        foreach (var id in (ReadOnlySpan<string?>)[tx.ProviderTxId, tx.BankReference, tx.EndToEndId])
        {
            if (id is not null && (string.Equals(id, expected, StringComparison.Ordinal) || Near(id, expected)))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>True when exactly one ledger entry in the currency lies within <paramref name="tol"/> of
    /// <paramref name="amount"/> over the transaction's whole date window (the candidate itself): an amount nobody else
    /// could have paid.</summary>
    /// <remarks>Counted over every entry, taken or not, so the answer does not depend on what was decided first.</remarks>
    private bool UniqueInWindow(int t, int currency, long amount, long tol)
    {
        if (tol == 0 && t == _equalTx && amount == _equalAmount && currency == _txCurrency)
        {
            return _equalCount == 1; // counted by ScanEqual over the same days and currency
        }
        var day = _tx[t].ValueDate.DayNumber;
        var found = 0;
        for (var d = day - _span; d <= day + _span; d++)
        {
            if (!TryBucket(currency, d, out var b) || MatchScoring.DayDistance(_tx[t].ValueDate, DateOnly.FromDayNumber(d), _business) > _window)
            {
                continue;
            }
            var from = LowerBound(b.Amounts, amount - tol);
            var to = LowerBound(b.Amounts, amount + tol + 1);
            found += to - from;
            if (found > 1)
            {
                return false;
            }
        }
        return found == 1;
    }

    /// <summary>The counterparty part: the ledger counterparty's name tokens (or, worth less, its description's) found in
    /// the payment's description.</summary>
    private int CounterpartyScore(int t, int l)
    {
        var txTokens = _txTokens[t] ??= CounterpartyNames.Tokens(_tx[t].Remittance);
        if (txTokens.Length == 0)
        {
            return 0;
        }
        _ledCounterpartyTokens ??= new string[]?[_led.Length];
        _ledDescriptionTokens ??= new string[]?[_led.Length];
        var name = _ledCounterpartyTokens[l] ??= CounterpartyNames.Tokens(_led[l].Counterparty);
        var description = _ledDescriptionTokens[l] ??= CounterpartyNames.Tokens(_led[l].Description);
        return Math.Max(CounterpartyNames.Score(name, txTokens, MatchScoring.CounterpartyFull),
            CounterpartyNames.Score(description, txTokens, MatchScoring.DescriptionMax));
    }

    private static int KeyScore(Kind kind) => kind switch
    {
        Kind.ExternalRef or Kind.EndToEnd => MatchScoring.KeyExact,
        Kind.Reference => MatchScoring.KeyReference,
        Kind.Fuzzy => MatchScoring.KeyFuzzy,
        Kind.Transposed => MatchScoring.KeyTransposed,
        _ => 0,
    };

    private CurrencyConversion? FindConversion(string from, string to)
    {
        foreach (var c in _r.Conversions)
        {
            if ((c.From == from && c.To == to) || (c.From == to && c.To == from))
            {
                return c;
            }
        }
        return null;
    }

    // ---- groups ----

    private void FormManyToOneGroups()
    {
        if (_partials.Count < 2)
        {
            return;
        }
        _partials.Sort();
        var members = new List<int>();
        for (var i = 0; i < _partials.Count;)
        {
            var l = (int)(_partials[i] >> 32);
            var j = i;
            members.Clear();
            while (j < _partials.Count && (int)(_partials[j] >> 32) == l)
            {
                var t = (int)(uint)_partials[j];
                if (members.Count == 0 || members[^1] != t)
                {
                    members.Add(t);
                }
                j++;
            }
            i = j;
            if (members.Count < 2 || members.Count > _r.MaxGroupMembers)
            {
                continue;
            }
            var le = _led[l];
            long gross = 0, net = 0;
            var maxDays = 0;
            foreach (var t in members)
            {
                gross += _tx[t].AmountMinor;
                net += _tx[t].NetMinor;
                maxDays = Math.Max(maxDays, MatchScoring.DayDistance(_tx[t].ValueDate, le.ValueDate, _business));
            }
            var tol = _r.ToleranceFor(le.AmountMinor);
            var useNet = _r.FeeNetting && net != gross && Math.Abs(net - le.AmountMinor) < Math.Abs(gross - le.AmountMinor);
            var diff = (useNet ? net : gross) - le.AmountMinor;
            if (Math.Abs(diff) > tol)
            {
                continue;
            }
            // every part names the invoice exactly and the parts add up to it exactly: what an accountant confirms
            var evidence = new MatchEvidence(MatchScoring.KeyReference, MatchScoring.AmountScore(diff, tol),
                MatchScoring.DateScore(maxDays, _window), 0, 0, diff == 0 ? MatchScoring.GroupExactSum : 0);
            var (score, reason) = Combine(evidence, maxDays, true);
            if (score < _r.ProposeThreshold)
            {
                continue;
            }
            _groups.Add(new Group
            {
                Tx = [.. members],
                Ledger = [l],
                Score = score,
                Diff = diff,
                Rule = RuleId(Kind.GroupManyToOne, useNet, false),
                Reason = reason,
                Key = "n1:" + le.Id,
                Evidence = evidence,
            });
        }
    }

    private void DecideGroups()
    {
        if (_groups.Count == 0)
        {
            return;
        }
        var txClaims = new Dictionary<int, int>();
        var ledClaims = new Dictionary<int, int>();
        foreach (var g in _groups)
        {
            foreach (var t in g.Tx)
            {
                CollectionsMarshal.GetValueRefOrAddDefault(txClaims, t, out _)++;
            }
            foreach (var l in g.Ledger)
            {
                CollectionsMarshal.GetValueRefOrAddDefault(ledClaims, l, out _)++;
            }
        }
        // Decisions read only the claim counts, so the order groups were found in does not matter.
        var conflicted = new List<Group>();
        foreach (var g in _groups)
        {
            var clean = g.Tx.All(t => txClaims[t] == 1) && g.Ledger.All(l => ledClaims[l] == 1);
            if (!clean)
            {
                conflicted.Add(g);
                continue;
            }
            var ids = SortedIds(g.Ledger);
            var outcome = g.Reason == MatchReason.Matched ? MatchOutcome.Matched : MatchOutcome.Proposed;
            foreach (var t in g.Tx)
            {
                _results[t] = Result(t, ids, outcome, g.Reason, g.Score, g.Diff, RuleNames[g.Rule], g.Key, g.Evidence);
            }
            foreach (var l in g.Ledger)
            {
                _ledState[l] = LedgerUsed;
            }
        }
        if (conflicted.Count == 0)
        {
            return;
        }
        // Payments claiming the same group: identical ones are duplicates, anything else needs a person. A transaction
        // in several conflicting groups lists all their entries; the strongest group (then the smallest key) speaks for it.
        var byTx = new Dictionary<int, (Group Best, SortedSet<string> Ids, int Groups)>();
        foreach (var g in conflicted)
        {
            foreach (var t in g.Tx)
            {
                var ids = SortedIds(g.Ledger);
                if (byTx.TryGetValue(t, out var seen))
                {
                    seen.Ids.UnionWith(ids);
                    var better = g.Score > seen.Best.Score || (g.Score == seen.Best.Score && string.CompareOrdinal(g.Key, seen.Best.Key) < 0);
                    byTx[t] = (better ? g : seen.Best, seen.Ids, seen.Groups + 1);
                }
                else
                {
                    byTx[t] = (g, new SortedSet<string>(ids, StringComparer.Ordinal), 1);
                }
            }
            foreach (var l in g.Ledger)
            {
                _ledState[l] = LedgerReserved;
            }
        }
        foreach (var (t, (g, ids, groups)) in byTx)
        {
            var identical = groups == 1 && g.Tx.Length == 1
                && conflicted.Where(o => o != g && o.Ledger.Intersect(g.Ledger).Any()).All(o => o.Tx.Length == 1 && Identical(o.Tx[0], t));
            _results[t] = identical
                ? Result(t, [.. ids], MatchOutcome.Duplicate, MatchReason.DuplicatePayment, g.Score, g.Diff, RuleNames[g.Rule], g.Key, g.Evidence)
                : Result(t, [.. ids], MatchOutcome.Ambiguous, MatchReason.Ambiguous, g.Score, g.Diff, RuleNames[g.Rule], g.Key, g.Evidence);
        }
    }

    // ---- one to one, level by level ----

    private void DecideEdges()
    {
        var txCount = new int[_tx.Length];
        var ledCount = new int[_led.Length];
        // Fast path: a pair that is the only one of its transaction and of its entry wins at its level whatever else
        // happens, so it is decided now and the level-by-level pass only sees contested pairs.
        for (var i = 0; i < _edgeCount; i++)
        {
            ref var e = ref _edges[i];
            if (e.Score >= _r.ProposeThreshold && _results[e.Tx] is null && _ledState[e.Ledger] == LedgerFree)
            {
                txCount[e.Tx]++;
                ledCount[e.Ledger]++;
            }
        }
        // A pair decided here is the only counted one of its transaction and of its entry, so no other pair reads or
        // writes what deciding it writes: halves of the pairs are decided side by side (most results are built here).
        if (_threads > 1 && _edgeCount >= 2 * _minPerThread)
        {
            var mid = _edgeCount / 2;
            var other = Task.Run(() => DecideUncontested(txCount, ledCount, mid, _edgeCount));
            DecideUncontested(txCount, ledCount, 0, mid);
            other.GetAwaiter().GetResult();
        }
        else
        {
            DecideUncontested(txCount, ledCount, 0, _edgeCount);
        }
        Array.Clear(txCount);
        Array.Clear(ledCount);

        var counts = new int[1002];
        for (var i = 0; i < _edgeCount; i++)
        {
            if (_edges[i].Score >= _r.ProposeThreshold)
            {
                counts[_edges[i].Score]++;
            }
        }
        // counting sort, highest score first
        var startOf = new int[1002];
        var pos = 0;
        for (var s = 1000; s >= 0; s--)
        {
            startOf[s] = pos;
            pos += counts[s];
        }
        var order = new int[pos];
        var cursor = (int[])startOf.Clone();
        for (var i = 0; i < _edgeCount; i++)
        {
            var s = _edges[i].Score;
            if (s >= _r.ProposeThreshold)
            {
                order[cursor[s]++] = i;
            }
        }

        var ledRep = new int[_led.Length];
        var ledSame = new bool[_led.Length];
        var active = new List<int>();
        Dictionary<int, List<int>>? tied = null;
        for (var s = 1000; s >= _r.ProposeThreshold; s--)
        {
            var from = startOf[s];
            var to = from + counts[s];
            if (from == to)
            {
                continue;
            }
            active.Clear();
            for (var k = from; k < to; k++)
            {
                ref var e = ref _edges[order[k]];
                if (_results[e.Tx] is not null)
                {
                    continue;
                }
                if (_ledState[e.Ledger] != LedgerFree)
                {
                    _lost[e.Tx] = true;
                    continue;
                }
                active.Add(order[k]);
                txCount[e.Tx]++;
                if (ledCount[e.Ledger]++ == 0)
                {
                    ledRep[e.Ledger] = e.Tx;
                    ledSame[e.Ledger] = true;
                }
                else
                {
                    ledSame[e.Ledger] &= Identical(e.Tx, ledRep[e.Ledger]);
                }
            }
            foreach (var i in active)
            {
                ref var e = ref _edges[i];
                if (txCount[e.Tx] == 1 && ledCount[e.Ledger] == 1)
                {
                    var outcome = e.Reason == MatchReason.Matched ? MatchOutcome.Matched : MatchOutcome.Proposed;
                    _results[e.Tx] = Result(e.Tx, [_led[e.Ledger].Id], outcome, e.Reason, e.Score, e.Diff, RuleNames[e.Rule], null, e.Evidence);
                }
                else if (txCount[e.Tx] > 1)
                {
                    tied ??= [];
                    if (!tied.TryGetValue(e.Tx, out var list))
                    {
                        tied[e.Tx] = list = [];
                    }
                    list.Add(i);
                }
                else
                {
                    var dup = ledSame[e.Ledger];
                    _results[e.Tx] = Result(e.Tx, [_led[e.Ledger].Id], dup ? MatchOutcome.Duplicate : MatchOutcome.Ambiguous,
                        dup ? MatchReason.DuplicatePayment : MatchReason.Ambiguous, e.Score, e.Diff, RuleNames[e.Rule], null, e.Evidence);
                }
            }
            foreach (var i in active)
            {
                ref var e = ref _edges[i];
                _ledState[e.Ledger] = txCount[e.Tx] == 1 && ledCount[e.Ledger] == 1 ? LedgerUsed : LedgerReserved;
                txCount[e.Tx] = 0;
                ledCount[e.Ledger] = 0;
            }
            if (tied is { Count: > 0 })
            {
                foreach (var (t, list) in tied)
                {
                    list.Sort((a, b) => string.CompareOrdinal(_led[_edges[a].Ledger].Id, _led[_edges[b].Ledger].Id));
                    var e = _edges[list[0]];
                    var ids = list.Select(i => _led[_edges[i].Ledger].Id).ToArray();
                    _results[t] = Result(t, ids, MatchOutcome.Ambiguous, MatchReason.Ambiguous, e.Score, e.Diff, RuleNames[e.Rule], null, e.Evidence);
                }
                tied.Clear();
            }
        }
    }

    /// <summary>Decides the pairs in [<paramref name="from"/>, <paramref name="to"/>) that are the only counted pair of
    /// both their transaction and their entry.</summary>
    private void DecideUncontested(int[] txCount, int[] ledCount, int from, int to)
    {
        for (var i = from; i < to; i++)
        {
            ref var e = ref _edges[i];
            if (e.Score >= _r.ProposeThreshold && txCount[e.Tx] == 1 && ledCount[e.Ledger] == 1 && _results[e.Tx] is null
                && _ledState[e.Ledger] == LedgerFree)
            {
                var outcome = e.Reason == MatchReason.Matched ? MatchOutcome.Matched : MatchOutcome.Proposed;
                _results[e.Tx] = Result(e.Tx, [_led[e.Ledger].Id], outcome, e.Reason, e.Score, e.Diff, RuleNames[e.Rule], null, e.Evidence);
                _ledState[e.Ledger] = LedgerUsed;
                e.Score = -1; // decided; the levels below skip it
            }
        }
    }

    // ---- bounded amount-sum search for what is left ----

    private void SearchAmountSums()
    {
        if (!_r.AmountSumSearch)
        {
            return;
        }
        var left = new List<int>();
        for (var t = 0; t < _tx.Length; t++)
        {
            if (_results[t] is null && _dupOf[t] < 0 && _bestScore[t] < _r.ProposeThreshold && _tx[t].AmountMinor != 0)
            {
                left.Add(t);
            }
        }
        // leftovers compete for the same entries: a fixed order by id keeps the outcome independent of input order
        left.Sort((a, b) => CompareIds(_tx[a], _tx[b]));
        var pool = new List<int>(_r.MaxSubsetCandidates);
        foreach (var t in left)
        {
            var tx = _tx[t];
            var target = tx.AmountMinor;
            pool.Clear();
            var day = tx.ValueDate.DayNumber;
            var c = CurrencyIndex(tx.Currency);
            for (var d = day - _span; d <= day + _span && pool.Count < _r.MaxSubsetCandidates; d++)
            {
                if (!TryBucket(c, d, out var b))
                {
                    continue;
                }
                if (target > 0)
                {
                    // largest parts first: fewer parts are likelier
                    for (var i = LowerBound(b.Amounts, target) - 1; i >= 0 && b.Amounts[i] > 0 && pool.Count < _r.MaxSubsetCandidates; i--)
                    {
                        if (_ledState[LedgerAt(b, i)] == LedgerFree)
                        {
                            pool.Add(b.Ledger[i]);
                        }
                    }
                }
                else
                {
                    for (var i = LowerBound(b.Amounts, target + 1); i < b.Amounts.Length && b.Amounts[i] < 0 && pool.Count < _r.MaxSubsetCandidates; i++)
                    {
                        if (_ledState[LedgerAt(b, i)] == LedgerFree)
                        {
                            pool.Add(b.Ledger[i]);
                        }
                    }
                }
            }
            if (pool.Count >= 2)
            {
                TrySubset(t, pool);
            }
        }
    }

    private void TrySubset(int t, List<int> pool)
    {
        var tx = _tx[t];
        var tol = _r.ToleranceFor(tx.AmountMinor);
        var n = pool.Count;
        for (var a = 0; a < n; a++)
        {
            for (var b = a + 1; b < n; b++)
            {
                var s2 = _led[pool[a]].AmountMinor + _led[pool[b]].AmountMinor;
                if (Math.Abs(tx.AmountMinor - s2) <= tol && TakeSubset(t, [pool[a], pool[b]], s2, tol))
                {
                    return;
                }
                for (var c = b + 1; c < n; c++)
                {
                    var s3 = s2 + _led[pool[c]].AmountMinor;
                    if (Math.Abs(tx.AmountMinor - s3) <= tol && TakeSubset(t, [pool[a], pool[b], pool[c]], s3, tol))
                    {
                        return;
                    }
                }
            }
        }
    }

    private bool TakeSubset(int t, int[] members, long sum, long tol)
    {
        var tx = _tx[t];
        var maxDays = 0;
        foreach (var l in members)
        {
            maxDays = Math.Max(maxDays, MatchScoring.DayDistance(tx.ValueDate, _led[l].ValueDate, _business));
        }
        var diff = tx.AmountMinor - sum;
        var evidence = new MatchEvidence(0, MatchScoring.AmountScore(diff, tol), MatchScoring.DateScore(maxDays, _window), 0, 0, 0);
        var (score, reason) = Combine(evidence, maxDays, true);
        if (score < _r.ProposeThreshold)
        {
            return false;
        }
        foreach (var l in members)
        {
            _ledState[l] = LedgerUsed;
        }
        // no key ties these entries to the payment, so the rule caps it below confirm: proposed, for a person to check
        _results[t] = Result(t, SortedIds(members), MatchOutcome.Proposed, reason, score, diff,
            RuleNames[RuleId(Kind.AmountSum, false, false)], "sum:" + tx.Provider + ":" + tx.ProviderTxId, evidence);
        return true;
    }

    // ---- results ----

    private MatchRun Finish()
    {
        var results = new MatchResult[_tx.Length];
        for (var t = 0; t < _tx.Length; t++)
        {
            var tx = _tx[t];
            if (_dupOf[t] >= 0)
            {
                results[t] = new MatchResult(tx.Provider, tx.ProviderTxId, [], MatchOutcome.Duplicate,
                    ReasonNames[(int)MatchReason.DuplicateProviderTransaction], 0, 0, MatchRuleNames.Duplicate);
                continue;
            }
            if (_results[t] is { } r)
            {
                results[t] = r;
                continue;
            }
            var reason = _lost[t] ? MatchReason.CandidateTaken
                : _bestScore[t] >= 0 ? _bestReason[t] == MatchReason.Matched ? MatchReason.BelowConfirmThreshold : _bestReason[t]
                : MatchReason.NoCandidate;
            results[t] = new MatchResult(tx.Provider, tx.ProviderTxId, [], MatchOutcome.Unmatched, ReasonNames[(int)reason],
                Math.Max(0, _bestScore[t]), tx.AmountMinor, _bestScore[t] >= 0 ? RuleNames[_bestRule[t]] : MatchRuleNames.None, null,
                _bestEvidence[t]);
        }
        var unmatched = new List<string>();
        for (var l = 0; l < _led.Length; l++)
        {
            if (_ledState[l] != LedgerUsed)
            {
                unmatched.Add(_led[l].Id);
            }
        }
        unmatched.Sort(StringComparer.Ordinal);
        return new MatchRun(results, unmatched);
    }

    private MatchResult Result(int t, IReadOnlyList<string> ledgerIds, MatchOutcome outcome, MatchReason reason, int score, long diff, string rule,
        string? groupKey, MatchEvidence evidence)
        => new(_tx[t].Provider, _tx[t].ProviderTxId, ledgerIds, outcome, ReasonNames[(int)reason], score, diff, rule, groupKey, evidence);

    private string[] SortedIds(int[] ledger)
    {
        var ids = new string[ledger.Length];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = _led[ledger[i]].Id;
        }
        Array.Sort(ids, StringComparer.Ordinal);
        return ids;
    }

    private bool Identical(int a, int b)
    {
        var x = _tx[a];
        var y = _tx[b];
        return x.AmountMinor == y.AmountMinor && x.FeeMinor == y.FeeMinor && x.ValueDate == y.ValueDate
            && x.Currency == y.Currency && x.Provider == y.Provider && x.Account == y.Account
            && x.EndToEndId == y.EndToEndId && x.BankReference == y.BankReference;
    }

    private static byte RuleId(Kind kind, bool net, bool converted) => (byte)(((int)kind * 4) + (net ? 1 : 0) + (converted ? 2 : 0));

    private static string[] BuildRuleNames()
    {
        var names = new string[KindNames.Length * 4];
        for (var k = 0; k < KindNames.Length; k++)
        {
            names[k * 4] = KindNames[k];
            names[(k * 4) + 1] = KindNames[k] + MatchRuleNames.NetSuffix;
            names[(k * 4) + 2] = KindNames[k] + MatchRuleNames.ConvertedSuffix;
            names[(k * 4) + 3] = KindNames[k] + MatchRuleNames.NetSuffix + MatchRuleNames.ConvertedSuffix;
        }
        return names;
    }

    private static int CompareIds(ProviderTransaction a, ProviderTransaction b)
    {
        var c = string.CompareOrdinal(a.Provider, b.Provider);
        return c != 0 ? c : string.CompareOrdinal(a.ProviderTxId, b.ProviderTxId);
    }

    private static int CompareContent(ProviderTransaction a, ProviderTransaction b)
    {
        var c = a.AmountMinor.CompareTo(b.AmountMinor);
        if (c == 0) { c = a.FeeMinor.CompareTo(b.FeeMinor); }
        if (c == 0) { c = a.ValueDate.CompareTo(b.ValueDate); }
        if (c == 0) { c = string.CompareOrdinal(a.Currency, b.Currency); }
        if (c == 0) { c = string.CompareOrdinal(a.Account, b.Account); }
        if (c == 0) { c = string.CompareOrdinal(a.EndToEndId, b.EndToEndId); }
        if (c == 0) { c = string.CompareOrdinal(a.BankReference, b.BankReference); }
        if (c == 0) { c = string.CompareOrdinal(a.GroupId, b.GroupId); }
        return c;
    }
}
