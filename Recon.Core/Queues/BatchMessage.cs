using System.Text.Json;
using System.Text.Json.Serialization;
using Recon.Core.Domain;

namespace Recon.Core.Queues;

/// <summary>One batch on recon-high / recon-low: one page of one provider account to fetch, match and post.</summary>
/// <param name="BatchId">Deterministic id; also the orchestration instance id, so a duplicate message cannot start a second run.</param>
/// <param name="Provider">One of <see cref="Providers"/>.</param>
/// <param name="Account">Provider account (Stripe account, Plaid item, bank account).</param>
/// <param name="From">First value date, inclusive.</param>
/// <param name="To">Last value date, inclusive.</param>
/// <param name="Cursor">Where the page starts; null for the first page.</param>
/// <param name="PageSize">Objects per page, 1..<see cref="BatchMessageCodec.MaxPageSize"/>.</param>
/// <param name="Priority">0 = high (recon-high), 1..10 = low (recon-low).</param>
/// <param name="ValueMinor">Business value that set the priority, minor units.</param>
/// <param name="Currency">ISO 4217 code of <paramref name="ValueMinor"/>.</param>
/// <param name="EnqueuedAt">When the batch was queued (UTC).</param>
/// <param name="RunId">The reconciliation run it belongs to, when known.</param>
/// <param name="Sequence">Page number in its chain, 0 for the first page.</param>
/// <param name="ChainCursor">The cursor the page's chain started from (pages after the first), where it restarts.</param>
/// <param name="Generation">How often the chain was restarted (0: never).</param>
public sealed record BatchMessage(
    string BatchId,
    string Provider,
    string Account,
    DateOnly From,
    DateOnly To,
    string? Cursor,
    int PageSize,
    int Priority,
    long ValueMinor,
    string Currency,
    DateTimeOffset EnqueuedAt,
    string? RunId = null,
    int Sequence = 0,
    string? ChainCursor = null,
    int Generation = 0);

/// <summary>A queue message that cannot be read as a <see cref="BatchMessage"/>; the reason goes to the poison queue.</summary>
public sealed class MalformedBatchMessageException(string reason) : Exception(reason);

/// <summary>
/// The wire format of <see cref="BatchMessage"/>: JSON, camelCase, with <c>version</c> (now 1) so a reader can tell a
/// message it does not understand from a broken one, and <c>lastError</c>, the reason of the last failed attempt.
/// </summary>
public static class BatchMessageCodec
{
    public const int Version = 1;

    /// <summary>Plaid pages hold at most 500 objects, Stripe 100: nothing Recon fetches is larger.</summary>
    public const int MaxPageSize = 500;

    /// <summary>Azure Storage queue messages hold at most 64 KiB; a batch message is a few hundred bytes, so a cursor
    /// longer than 4 KiB is a bug upstream rather than a real cursor.</summary>
    public const int MaxCursorLength = 4_096;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    };

    public static string Encode(BatchMessage message, string? lastError = null)
        => JsonSerializer.Serialize(ToWire(message, lastError), Json);

    private static Wire ToWire(BatchMessage message, string? lastError)
    {
        ArgumentNullException.ThrowIfNull(message);
        Validate(message);
        return new Wire
        {
            Version = Version,
            BatchId = message.BatchId,
            RunId = message.RunId,
            Provider = message.Provider,
            Account = message.Account,
            From = message.From,
            To = message.To,
            Cursor = message.Cursor,
            PageSize = message.PageSize,
            Sequence = message.Sequence,
            ChainCursor = message.ChainCursor,
            Generation = message.Generation == 0 ? null : message.Generation,
            Priority = message.Priority,
            ValueMinor = message.ValueMinor,
            Currency = message.Currency,
            EnqueuedAt = message.EnqueuedAt,
            LastError = lastError,
        };
    }

    /// <summary>Reads a message; throws <see cref="MalformedBatchMessageException"/> saying what is wrong.</summary>
    public static (BatchMessage Message, string? LastError) Decode(string text)
    {
        return FromWire(Parse(text));
    }

    private static Wire Parse(string text)
    {
        Wire? wire;
        try
        {
            wire = JsonSerializer.Deserialize<Wire>(text, Json);
        }
        catch (JsonException ex)
        {
            throw new MalformedBatchMessageException($"not a batch message (invalid JSON at {ex.Path ?? "$"}, line {ex.LineNumber}): {ex.Message}");
        }
        if (wire is null)
        {
            throw new MalformedBatchMessageException("not a batch message: the JSON is null");
        }
        if (wire.Version != Version)
        {
            throw new MalformedBatchMessageException(wire.Version is null
                ? "version is missing"
                : $"version {wire.Version} is not supported (this reader knows {Version})");
        }
        return wire;
    }

    private static (BatchMessage Message, string? LastError) FromWire(Wire wire)
    {
        var message = new BatchMessage(
            Required(wire.BatchId, "batchId"),
            Required(wire.Provider, "provider"),
            Required(wire.Account, "account"),
            wire.From ?? throw new MalformedBatchMessageException("from is missing"),
            wire.To ?? throw new MalformedBatchMessageException("to is missing"),
            wire.Cursor,
            wire.PageSize ?? throw new MalformedBatchMessageException("pageSize is missing"),
            wire.Priority ?? throw new MalformedBatchMessageException("priority is missing"),
            wire.ValueMinor ?? throw new MalformedBatchMessageException("valueMinor is missing"),
            Required(wire.Currency, "currency"),
            wire.EnqueuedAt ?? throw new MalformedBatchMessageException("enqueuedAt is missing"),
            wire.RunId,
            wire.Sequence ?? 0,
            wire.ChainCursor,
            wire.Generation ?? 0);
        try
        {
            Validate(message);
        }
        catch (ArgumentException ex)
        {
            throw new MalformedBatchMessageException(ex.Message);
        }
        return (message, wire.LastError);
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad field.</summary>
    public static void Validate(BatchMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (string.IsNullOrWhiteSpace(message.BatchId))
        {
            throw new ArgumentException("batchId is empty", nameof(message));
        }
        if (!Providers.IsKnown(message.Provider))
        {
            throw new ArgumentException($"provider '{message.Provider}' is not one of {string.Join(", ", Providers.All)}", nameof(message));
        }
        if (string.IsNullOrWhiteSpace(message.Account))
        {
            throw new ArgumentException("account is empty", nameof(message));
        }
        if (message.From > message.To)
        {
            throw new ArgumentException($"from {message.From:yyyy-MM-dd} is after to {message.To:yyyy-MM-dd}", nameof(message));
        }
        if (message.PageSize is < 1 or > MaxPageSize)
        {
            throw new ArgumentException($"pageSize {message.PageSize} is outside 1..{MaxPageSize}", nameof(message));
        }
        if (message.Cursor is { Length: > MaxCursorLength })
        {
            throw new ArgumentException($"cursor is {message.Cursor.Length} characters, more than {MaxCursorLength}", nameof(message));
        }
        if (message.Priority is < 0 or > 10)
        {
            throw new ArgumentException($"priority {message.Priority} is outside 0..10", nameof(message));
        }
        if (message.ValueMinor < 0)
        {
            throw new ArgumentException($"valueMinor {message.ValueMinor} is negative", nameof(message));
        }
        if (!Currency.IsValidCode(message.Currency))
        {
            throw new ArgumentException($"currency '{message.Currency}' is not an ISO 4217 code (three upper-case letters)", nameof(message));
        }
        if (message.Sequence < 0)
        {
            throw new ArgumentException($"sequence {message.Sequence} is negative", nameof(message));
        }
        if (message.ChainCursor is { Length: > MaxCursorLength })
        {
            throw new ArgumentException($"chainCursor is {message.ChainCursor.Length} characters, more than {MaxCursorLength}", nameof(message));
        }
        if (message.Generation < 0)
        {
            throw new ArgumentException($"generation {message.Generation} is negative", nameof(message));
        }
    }

    private static string Required(string? value, string name)
        => string.IsNullOrWhiteSpace(value) ? throw new MalformedBatchMessageException($"{name} is missing") : value;

    /// <summary>Nullable everywhere, so a missing field is reported by name rather than read as a default.</summary>
    private sealed class Wire
    {
        public int? Version { get; set; }
        public string? BatchId { get; set; }
        public string? RunId { get; set; }
        public string? Provider { get; set; }
        public string? Account { get; set; }
        public DateOnly? From { get; set; }
        public DateOnly? To { get; set; }
        public string? Cursor { get; set; }
        public int? PageSize { get; set; }
        public int? Sequence { get; set; }
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public string? ChainCursor { get; set; }
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public int? Generation { get; set; }
        public int? Priority { get; set; }
        public long? ValueMinor { get; set; }
        public string? Currency { get; set; }
        public DateTimeOffset? EnqueuedAt { get; set; }
        public string? LastError { get; set; }
    }
}
