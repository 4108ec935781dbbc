using System.Text.Json.Nodes;

namespace Recon.Sandbox.Stripe;

/// <summary>Stripe objects held as the JSON Stripe would send, in list order (newest first, then id descending).</summary>
public sealed class StripeStore
{
    /// <summary>Fields the list endpoints filter on by equality (Stripe's list parameters of the same name).</summary>
    public static readonly string[] FilterFields = ["currency", "source", "status", "destination", "customer", "payment_intent", "transfer_group"];

    private readonly Lock _lock = new();
    private readonly Dictionary<string, StripeCollection> _collections = new(StringComparer.Ordinal)
    {
        ["balance_transaction"] = new(),
        ["charge"] = new(),
        ["payout"] = new(),
    };

    public StripeCollection Collection(string objectType)
    {
        lock (_lock)
        {
            return _collections.TryGetValue(objectType, out var c) ? c : throw new ArgumentException($"unknown Stripe object type '{objectType}'", nameof(objectType));
        }
    }

    /// <summary>Adds or replaces objects. A balance transaction may carry a sandbox-only <c>payout</c> field: it is
    /// removed from what clients see and kept for the <c>payout</c> list filter, as Stripe keeps that link internally.</summary>
    /// <remarks>Every object is completed to the fields Stripe's definition gives it (<see cref="StripeSchema"/>), so a
    /// client that reads a field the loader did not think of finds Stripe's empty value, not a missing key.</remarks>
    public int Load(string objectType, IEnumerable<JsonObject> objects, bool livemode = false)
    {
        var collection = Collection(objectType);
        var n = 0;
        foreach (var o in objects)
        {
            var id = o["id"]?.GetValue<string>() ?? throw new ArgumentException($"a {objectType} without an id");
            if (o["object"]?.GetValue<string>() != objectType)
            {
                throw new ArgumentException($"{id}: \"object\" must be \"{objectType}\"");
            }
            var created = o["created"]?.GetValue<long>() ?? throw new ArgumentException($"{id}: \"created\" (unix seconds) is required");
            string? payout = null;
            if (o.Remove("payout", out var p) && p is not null)
            {
                payout = p.GetValue<string>();
            }
            var complete = StripeSchema.Complete(objectType, o, livemode);
            var filters = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var field in FilterFields)
            {
                filters[field] = complete[field] is JsonValue v && v.TryGetValue<string>(out var text) ? text : null;
            }
            var arrival = complete["arrival_date"] is JsonValue a && a.TryGetValue<long>(out var at) ? at : (long?)null;
            collection.Put(new StripeObject(id, created, complete["type"]?.GetValue<string>(), payout, complete.ToJsonString()) { Filters = filters, ArrivalDate = arrival });
            n++;
        }
        return n;
    }

    /// <summary>True when a balance transaction was loaded with this payout link (the payout object itself may not be loaded).</summary>
    public bool KnowsPayout(string payoutId)
        => Collection("payout").Find(payoutId) is not null || Collection("balance_transaction").Any(o => o.Payout == payoutId);

    public void Clear()
    {
        lock (_lock)
        {
            foreach (var c in _collections.Values)
            {
                c.Clear();
            }
        }
    }
}

/// <summary>One stored object: its sort keys, its filters, and the JSON served.</summary>
public sealed record StripeObject(string Id, long Created, string? Type, string? Payout, string Json)
{
    /// <summary>The string fields list filters compare with (<see cref="StripeStore.FilterFields"/>), read once at load.</summary>
    public IReadOnlyDictionary<string, string?> Filters { get; init; } = new Dictionary<string, string?>();

    /// <summary>Payouts: <c>arrival_date</c> (unix seconds), for the <c>arrival_date</c> range filter.</summary>
    public long? ArrivalDate { get; init; }
}

/// <summary>One list endpoint's objects, kept sorted as Stripe lists them.</summary>
public sealed class StripeCollection
{
    private static readonly Comparer<StripeObject> ListOrder = Comparer<StripeObject>.Create((a, b) =>
    {
        var c = b.Created.CompareTo(a.Created);
        return c != 0 ? c : string.CompareOrdinal(b.Id, a.Id);
    });

    private readonly Lock _lock = new();
    private readonly Dictionary<string, StripeObject> _byId = new(StringComparer.Ordinal);
    private List<StripeObject>? _sorted;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _byId.Count;
            }
        }
    }

    public void Put(StripeObject o)
    {
        lock (_lock)
        {
            _byId[o.Id] = o;
            _sorted = null;
        }
    }

    public bool Any(Func<StripeObject, bool> predicate)
    {
        lock (_lock)
        {
            return _byId.Values.Any(predicate);
        }
    }

    public StripeObject? Find(string id)
    {
        lock (_lock)
        {
            return _byId.GetValueOrDefault(id);
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            _byId.Clear();
            _sorted = null;
        }
    }

    /// <summary>Stripe's list semantics: filter, then the page after <paramref name="startingAfter"/> or the page just
    /// before <paramref name="endingBefore"/>, at most <paramref name="limit"/> objects, list order kept.</summary>
    public (IReadOnlyList<StripeObject> Page, bool HasMore) List(Func<StripeObject, bool> filter, int limit, StripeObject? startingAfter, StripeObject? endingBefore)
    {
        List<StripeObject> sorted;
        lock (_lock)
        {
            sorted = _sorted ??= _byId.Values.Order(ListOrder).ToList();
        }
        if (endingBefore is not null)
        {
            var before = sorted.Where(o => ListOrder.Compare(o, endingBefore) < 0 && filter(o)).ToList();
            var skip = Math.Max(0, before.Count - limit);
            return (before.Skip(skip).ToList(), skip > 0);
        }
        var page = new List<StripeObject>(limit);
        var hasMore = false;
        foreach (var o in sorted)
        {
            if (startingAfter is not null && ListOrder.Compare(o, startingAfter) <= 0)
            {
                continue;
            }
            if (!filter(o))
            {
                continue;
            }
            if (page.Count == limit)
            {
                hasMore = true;
                break;
            }
            page.Add(o);
        }
        return (page, hasMore);
    }
}
