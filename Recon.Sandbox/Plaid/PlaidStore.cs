using System.Text.Json.Nodes;

namespace Recon.Sandbox.Plaid;

/// <summary>Plaid items, each an append-only log of transaction changes that <c>/transactions/sync</c> pages through.</summary>
public sealed class PlaidStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, PlaidItem> _items = new(StringComparer.Ordinal);

    public PlaidItem? Find(string accessToken)
    {
        lock (_lock)
        {
            return _items.GetValueOrDefault(accessToken);
        }
    }

    public PlaidItem GetOrCreate(string accessToken)
    {
        lock (_lock)
        {
            if (!_items.TryGetValue(accessToken, out var item))
            {
                _items[accessToken] = item = new PlaidItem(accessToken);
            }
            return item;
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            _items.Clear();
        }
    }
}

/// <summary>A change: <c>added</c> / <c>modified</c> carry the transaction as Plaid sends it, <c>removed</c> only its id.</summary>
public sealed record PlaidEvent(string Kind, string TransactionId, string AccountId, JsonObject? Transaction);

/// <summary>One item's change log, its live state, and its one-shot faults.</summary>
public sealed class PlaidItem(string accessToken)
{
    private readonly Lock _lock = new();
    private readonly List<PlaidEvent> _log = [];
    private readonly Dictionary<string, JsonObject> _live = new(StringComparer.Ordinal);
    private int _mutationErrors;
    private List<PlaidEvent> _mutationEvents = [];
    private int _rateLimitErrors;

    public string AccessToken { get; } = accessToken;

    public string ItemId { get; } = "item_" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(accessToken)))[..20];

    /// <summary>Appends changes; validates each so a bad load fails whole, naming the event.</summary>
    public void Append(IEnumerable<PlaidEvent> events)
    {
        var list = events.ToList();
        for (var i = 0; i < list.Count; i++)
        {
            var e = list[i];
            if (e.Kind is not ("added" or "modified" or "removed"))
            {
                throw new ArgumentException($"event {i}: kind must be added, modified or removed (was '{e.Kind}')");
            }
            if (e.Kind != "removed" && e.Transaction?["transaction_id"]?.GetValue<string>() != e.TransactionId)
            {
                throw new ArgumentException($"event {i}: an {e.Kind} event needs the transaction with transaction_id '{e.TransactionId}'");
            }
        }
        lock (_lock)
        {
            foreach (var e in list)
            {
                _log.Add(e);
                if (e.Kind == "removed")
                {
                    _live.Remove(e.TransactionId);
                }
                else
                {
                    _live[e.TransactionId] = e.Transaction!;
                }
            }
        }
    }

    /// <summary>The item's accounts, in the order they first appear in its log, with the currency of their first transaction.</summary>
    public IReadOnlyList<(string AccountId, string? Currency)> Accounts()
    {
        lock (_lock)
        {
            return _log.GroupBy(e => e.AccountId, StringComparer.Ordinal)
                .Select(g => (g.Key, g.Select(e => e.Transaction?["iso_currency_code"]?.GetValue<string>()).FirstOrDefault(c => c is not null)))
                .ToList();
        }
    }

    /// <summary>The transactions a client that synced to the end must hold.</summary>
    public IReadOnlyList<JsonObject> LiveTransactions()
    {
        lock (_lock)
        {
            return _live.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => (JsonObject)t.Value.DeepClone()).ToList();
        }
    }

    public int LogLength
    {
        get
        {
            lock (_lock)
            {
                return _log.Count;
            }
        }
    }

    /// <summary>The next <paramref name="count"/> (or fewer) calls in mid-pagination fail with
    /// TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION; <paramref name="events"/> are appended when the first fires, as the
    /// mutation that caused it.</summary>
    public void ArmMutationErrors(int count, IEnumerable<PlaidEvent> events)
    {
        lock (_lock)
        {
            _mutationErrors = count;
            _mutationEvents = events.ToList();
        }
    }

    /// <summary>The next <paramref name="count"/> calls answer 429 RATE_LIMIT_EXCEEDED regardless of the window.</summary>
    public void ArmRateLimitErrors(int count)
    {
        lock (_lock)
        {
            _rateLimitErrors = count;
        }
    }

    public bool TakeRateLimitError()
    {
        lock (_lock)
        {
            if (_rateLimitErrors <= 0)
            {
                return false;
            }
            _rateLimitErrors--;
            return true;
        }
    }

    /// <summary>Fires an armed mutation error for a call in mid-pagination: appends the mutation events and says so.</summary>
    public bool TakeMutationError(bool midPagination)
    {
        List<PlaidEvent> events;
        lock (_lock)
        {
            if (!midPagination || _mutationErrors <= 0)
            {
                return false;
            }
            _mutationErrors--;
            events = _mutationEvents;
            _mutationEvents = [];
        }
        Append(events);
        return true;
    }

    /// <summary>Changes from <paramref name="position"/>, at most <paramref name="count"/> log entries, folded per
    /// transaction (last state wins; a transaction first added in this page stays in <c>added</c>).</summary>
    public SyncPage Read(int position, int count)
    {
        lock (_lock)
        {
            if (position > _log.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(position), "cursor points past the end of the item's history");
            }
            var end = Math.Min(_log.Count, position + count);
            var state = new Dictionary<string, (bool AddedHere, PlaidEvent Last)>(StringComparer.Ordinal);
            var order = new List<string>();
            for (var i = position; i < end; i++)
            {
                var e = _log[i];
                if (state.TryGetValue(e.TransactionId, out var s))
                {
                    state[e.TransactionId] = (s.AddedHere, e);
                }
                else
                {
                    state[e.TransactionId] = (e.Kind == "added", e);
                    order.Add(e.TransactionId);
                }
            }
            var added = new List<JsonObject>();
            var modified = new List<JsonObject>();
            var removed = new List<(string, string)>();
            foreach (var id in order)
            {
                var (addedHere, last) = state[id];
                if (last.Kind == "removed")
                {
                    removed.Add((id, last.AccountId));
                }
                else if (addedHere)
                {
                    added.Add((JsonObject)last.Transaction!.DeepClone());
                }
                else
                {
                    modified.Add((JsonObject)last.Transaction!.DeepClone());
                }
            }
            return new SyncPage(added, modified, removed, end, end < _log.Count);
        }
    }
}

/// <summary>One folded page of changes and where the next one starts.</summary>
public sealed record SyncPage(IReadOnlyList<JsonObject> Added, IReadOnlyList<JsonObject> Modified, IReadOnlyList<(string TransactionId, string AccountId)> Removed, int NextPosition, bool HasMore);
