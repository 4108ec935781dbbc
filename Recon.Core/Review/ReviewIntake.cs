using System.Globalization;
using System.Net;
using System.Text.Json;
using Recon.Core.Balances;
using Recon.Core.Hosting;

using static Recon.Core.Reports.QueryValues;

namespace Recon.Core.Review;

/// <summary>
/// The review API of both hosts: <c>GET /api/exceptions</c>, <c>GET|DELETE /api/matches/{provider}/{providerTxId}</c>,
/// <c>POST /api/matches</c>, <c>POST /api/exceptions/{id}/resolve</c>, <c>GET /api/audit</c>. Validates ("field: reason",
/// 400), runs the action through <see cref="ReviewStore"/> and answers with the same codes and bodies on either host:
/// 404 for an unknown item, 409 for a stale etag or an entry matched elsewhere.
/// </summary>
public sealed class ReviewIntake(ReviewStore store, BalanceStore balances)
{
    /// <summary>An action body is a few ids and a note; 64 KiB is generous and refuses anything else unread.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    /// <summary>Page size when the caller names none.</summary>
    public const int DefaultPageSize = 50;

    /// <summary>A bulk body lists up to <see cref="ReviewStore.MaxBulkItems"/> items of a few hundred bytes each.</summary>
    public const int MaxBulkBodyBytes = 1024 * 1024;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async Task<HostReply> ListExceptionsAsync(IReadOnlyDictionary<string, string?> query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var errors = new List<string>();
        string[] known = ["provider", "account", "from", "to", "minAmount", "maxAmount", "minAgeDays", "limit", "after"];
        foreach (var key in query.Keys.Where(k => !known.Contains(k, StringComparer.Ordinal)))
        {
            errors.Add($"{key}: unknown filter (expected {string.Join(", ", known)})");
        }
        var filter = new ExceptionFilter(Get(query, "provider"), Get(query, "account"), Date(query, "from", errors), Date(query, "to", errors),
            Long(query, "minAmount", errors, unit: "minor units"), Long(query, "maxAmount", errors, unit: "minor units"), (int?)Long(query, "minAgeDays", errors, 0, 36_500),
            (int?)Long(query, "limit", errors, 1, ReviewStore.MaxPageSize) ?? DefaultPageSize, Long(query, "after", errors, 0));
        if (errors.Count > 0)
        {
            return new HostReply(HttpStatusCode.BadRequest, new { errors });
        }
        // a statement day that does not prove is an exception of its own: proofs move with every verdict, so they are brought
        // up to date before the queue is read (the newest BalanceStore.MaxDays statement days)
        await balances.ProveAsync(new BalanceFilter(filter.Account, null, filter.Provider), withItems: false, cancellationToken).ConfigureAwait(false);
        return new HostReply(HttpStatusCode.OK, await store.ListAsync(filter, cancellationToken).ConfigureAwait(false));
    }

    public async Task<HostReply> VerdictAsync(string provider, string providerTxId, CancellationToken cancellationToken)
        => await store.VerdictAsync(provider, providerTxId, cancellationToken).ConfigureAwait(false) is { } verdict
            ? new HostReply(HttpStatusCode.OK, verdict)
            : new HostReply(HttpStatusCode.NotFound, new { error = $"no verdict for {Clip(provider)}:{Clip(providerTxId)}" });

    /// <summary><c>{"transactions":[{"provider","providerTxId","etag"}], "ledgerIds":[...], "note"}</c>; no ledgerIds
    /// confirms the one proposed verdict.</summary>
    public async Task<HostReply> MatchAsync(Stream body, string actor, CancellationToken cancellationToken)
    {
        var (request, errors) = await ReadAsync<MatchRequest>(body, cancellationToken).ConfigureAwait(false);
        if (request is not null)
        {
            var members = request.Transactions ?? [];
            if (members.Count == 0)
            {
                errors.Add("transactions: at least one {provider, providerTxId, etag}");
            }
            for (var i = 0; i < members.Count; i++)
            {
                if (string.IsNullOrWhiteSpace(members[i].Provider) || string.IsNullOrWhiteSpace(members[i].ProviderTxId) || string.IsNullOrWhiteSpace(members[i].Etag))
                {
                    errors.Add($"transactions[{i}]: provider, providerTxId and etag (from GET /api/exceptions) are required");
                }
            }
            var ledger = request.LedgerIds ?? [];
            if (ledger.Any(string.IsNullOrWhiteSpace))
            {
                errors.Add("ledgerIds: an empty id");
            }
            if (members.Count > 1 && ledger.Count > 1)
            {
                errors.Add($"transactions, ledgerIds: {members.Count}:{ledger.Count} is not a match (1:1, 1:N or N:1); split it");
            }
            if (members.Count > 1 && ledger.Count == 0)
            {
                errors.Add("ledgerIds: required when several transactions are matched");
            }
            if (members.Select(m => (m.Provider, m.ProviderTxId)).Distinct().Count() != members.Count || ledger.Distinct(StringComparer.Ordinal).Count() != ledger.Count)
            {
                errors.Add("transactions, ledgerIds: an item appears twice");
            }
        }
        if (errors.Count > 0)
        {
            return new HostReply(HttpStatusCode.BadRequest, new { errors });
        }
        return Reply(await store.MatchAsync(request!.Transactions!.Select(m => new MatchMember(m.Provider!, m.ProviderTxId!, m.Etag!)).ToList(),
            request.LedgerIds ?? [], actor, request.Note, cancellationToken).ConfigureAwait(false));
    }

    public async Task<HostReply> UnmatchAsync(string provider, string providerTxId, IReadOnlyDictionary<string, string?> query, string actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var etag = Get(query, "etag");
        if (etag is null)
        {
            return new HostReply(HttpStatusCode.BadRequest, new { errors = new[] { "etag: required (from GET /api/matches/{provider}/{providerTxId} or /api/exceptions)" } });
        }
        return Reply(await store.UnmatchAsync(provider, providerTxId, etag, actor, Get(query, "note"), cancellationToken).ConfigureAwait(false));
    }

    /// <summary><c>{"reasonCode","note","etag"}</c>.</summary>
    public async Task<HostReply> ResolveAsync(string id, Stream body, string actor, CancellationToken cancellationToken)
    {
        var (request, errors) = await ReadAsync<ResolveRequest>(body, cancellationToken).ConfigureAwait(false);
        if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var exceptionId))
        {
            return new HostReply(HttpStatusCode.NotFound, new { error = $"no exception '{Clip(id)}'" });
        }
        if (request is not null)
        {
            if (request.ReasonCode is null || !ReviewStore.ResolutionCodes.Contains(request.ReasonCode, StringComparer.Ordinal))
            {
                errors.Add($"reasonCode: one of {string.Join(", ", ReviewStore.ResolutionCodes)}");
            }
            if (request.ReasonCode == "other" && string.IsNullOrWhiteSpace(request.Note))
            {
                errors.Add("note: required with reasonCode 'other'");
            }
            if (request.Note is { Length: > 2000 })
            {
                errors.Add("note: longer than 2000 characters");
            }
            if (string.IsNullOrWhiteSpace(request.Etag))
            {
                errors.Add("etag: required (from GET /api/exceptions)");
            }
        }
        if (errors.Count > 0)
        {
            return new HostReply(HttpStatusCode.BadRequest, new { errors });
        }
        return Reply(await store.ResolveAsync(exceptionId, request!.ReasonCode!, request.Note, request.Etag!, actor, cancellationToken).ConfigureAwait(false));
    }

    public async Task<HostReply> AuditAsync(IReadOnlyDictionary<string, string?> query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var errors = new List<string>();
        var limit = (int?)Long(query, "limit", errors, 1, ReviewStore.MaxPageSize) ?? DefaultPageSize;
        return errors.Count > 0
            ? new HostReply(HttpStatusCode.BadRequest, new { errors })
            : new HostReply(HttpStatusCode.OK, await store.AuditAsync(limit, cancellationToken).ConfigureAwait(false));
    }

    /// <summary><c>POST /api/matches/confirm</c>: confirm the proposals scored at least <c>minScore</c>, either the ones
    /// listed with the etags shown (<c>{"items":[{"provider","providerTxId","etag"}],"minScore","note"}</c>) or every one a
    /// filter selects now (<c>{"filter":{"run","provider","account","day"},"minScore","note"}</c>). Each item is its own
    /// transaction and audit entry; 200 when none was refused, else 409, the body saying which were confirmed, which were
    /// refused (stale etag: reload) and which skipped (below the score).</summary>
    public async Task<HostReply> BulkConfirmAsync(Stream body, string actor, CancellationToken cancellationToken)
    {
        var (request, errors) = await ReadAsync<BulkConfirmRequest>(body, cancellationToken, MaxBulkBodyBytes).ConfigureAwait(false);
        DateOnly? day = null;
        if (request is not null)
        {
            if (request.MinScore is not (>= 0 and <= 1000))
            {
                errors.Add("minScore: required, an integer in 0..1000 (the engine's score scale)");
            }
            if ((request.Items is null) == (request.Filter is null))
            {
                errors.Add("items, filter: exactly one (the proposals shown with their etags, or a filter to select them now)");
            }
            var items = request.Items ?? [];
            if (items.Count > ReviewStore.MaxBulkItems)
            {
                errors.Add($"items: {items.Count} is more than {ReviewStore.MaxBulkItems} in one call; split it");
            }
            for (var i = 0; i < items.Count; i++)
            {
                if (string.IsNullOrWhiteSpace(items[i].Provider) || string.IsNullOrWhiteSpace(items[i].ProviderTxId) || string.IsNullOrWhiteSpace(items[i].Etag))
                {
                    errors.Add($"items[{i}]: provider, providerTxId and etag (from GET /api/results or /api/exceptions) are required");
                }
            }
            if (items.Select(m => (m.Provider, m.ProviderTxId)).Distinct().Count() != items.Count)
            {
                errors.Add("items: an item appears twice");
            }
            if (request.Filter?.Day is { } d)
            {
                if (DateOnly.TryParseExact(d, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
                {
                    day = parsed;
                }
                else
                {
                    errors.Add($"filter.day: '{Clip(d)}' is not a date (YYYY-MM-DD)");
                }
            }
            if (request.Note is { Length: > 2000 })
            {
                errors.Add("note: longer than 2000 characters");
            }
        }
        if (errors.Count > 0)
        {
            return new HostReply(HttpStatusCode.BadRequest, new { errors });
        }
        var minScore = request!.MinScore!.Value;
        List<MatchMember> members;
        long remaining = 0;
        if (request.Filter is { } f)
        {
            (members, remaining) = await store.ProposalsAsync(Blank(f.Run), Blank(f.Provider), Blank(f.Account), day, minScore, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            members = request.Items!.Select(m => new MatchMember(m.Provider!, m.ProviderTxId!, m.Etag!)).ToList();
        }
        var confirmed = new List<object>();
        var conflicts = new List<object>();
        var skipped = new List<object>();
        foreach (var m in members)
        {
            var outcome = await store.MatchAsync([m], [], actor, request.Note, cancellationToken, minScore).ConfigureAwait(false);
            var error = outcome.Status == 200 ? null : ErrorOf(outcome);
            switch (outcome.Status)
            {
                case 200:
                    confirmed.Add(new { provider = m.Provider, providerTxId = m.ProviderTxId });
                    break;
                case ReviewStore.BelowScoreStatus or 400:
                    // below the score, or not a proposal any more without its etag having changed (cannot happen: the outcome is in the etag)
                    skipped.Add(new { provider = m.Provider, providerTxId = m.ProviderTxId, reason = error });
                    break;
                default:
                    conflicts.Add(new { provider = m.Provider, providerTxId = m.ProviderTxId, status = outcome.Status, error });
                    break;
            }
        }
        return new HostReply(conflicts.Count == 0 ? HttpStatusCode.OK : HttpStatusCode.Conflict,
            new { action = "bulk_confirm", minScore, confirmed, conflicts, skipped, remaining });
    }

    /// <summary><c>POST /api/exceptions/resolve</c>: <c>{"items":[{"id","etag"}],"reasonCode","note"}</c> — resolve a group with one
    /// reason code, each its own transaction and audit entry; 200 when none was refused, else 409 saying which (stale,
    /// already resolved, unknown) and which were resolved.</summary>
    public async Task<HostReply> BulkResolveAsync(Stream body, string actor, CancellationToken cancellationToken)
    {
        var (request, errors) = await ReadAsync<BulkResolveRequest>(body, cancellationToken, MaxBulkBodyBytes).ConfigureAwait(false);
        if (request is not null)
        {
            if (request.ReasonCode is null || !ReviewStore.ResolutionCodes.Contains(request.ReasonCode, StringComparer.Ordinal))
            {
                errors.Add($"reasonCode: one of {string.Join(", ", ReviewStore.ResolutionCodes)}");
            }
            if (request.ReasonCode == "other" && string.IsNullOrWhiteSpace(request.Note))
            {
                errors.Add("note: required with reasonCode 'other'");
            }
            if (request.Note is { Length: > 2000 })
            {
                errors.Add("note: longer than 2000 characters");
            }
            var items = request.Items ?? [];
            if (items.Count == 0)
            {
                errors.Add("items: at least one {id, etag} (from GET /api/exceptions)");
            }
            if (items.Count > ReviewStore.MaxBulkItems)
            {
                errors.Add($"items: {items.Count} is more than {ReviewStore.MaxBulkItems} in one call; split it");
            }
            for (var i = 0; i < items.Count; i++)
            {
                if (items[i].Id is null or <= 0 || string.IsNullOrWhiteSpace(items[i].Etag))
                {
                    errors.Add($"items[{i}]: id and etag (from GET /api/exceptions) are required");
                }
            }
            if (items.Select(i => i.Id).Distinct().Count() != items.Count)
            {
                errors.Add("items: an exception appears twice");
            }
        }
        if (errors.Count > 0)
        {
            return new HostReply(HttpStatusCode.BadRequest, new { errors });
        }
        var resolved = new List<long>();
        var conflicts = new List<object>();
        foreach (var item in request!.Items!)
        {
            var outcome = await store.ResolveAsync(item.Id!.Value, request.ReasonCode!, request.Note, item.Etag!, actor, cancellationToken).ConfigureAwait(false);
            if (outcome.Status == 200)
            {
                resolved.Add(item.Id.Value);
            }
            else
            {
                conflicts.Add(new { id = item.Id.Value, status = outcome.Status, error = ErrorOf(outcome) });
            }
        }
        return new HostReply(conflicts.Count == 0 ? HttpStatusCode.OK : HttpStatusCode.Conflict,
            new { action = "bulk_resolve", reasonCode = request.ReasonCode, resolved, conflicts });
    }

    private static string? ErrorOf(ReviewOutcome outcome)
        => JsonSerializer.SerializeToElement(outcome.Body, Json).TryGetProperty("error", out var e) ? e.GetString() : null;

    private static string? Blank(string? v) => string.IsNullOrWhiteSpace(v) ? null : v.Trim();

    private sealed record BulkFilterRequest(string? Run, string? Provider, string? Account, string? Day);

    private sealed record BulkConfirmRequest(List<MatchMemberRequest>? Items, BulkFilterRequest? Filter, int? MinScore, string? Note);

    private sealed record BulkItemRequest(long? Id, string? Etag);

    private sealed record BulkResolveRequest(List<BulkItemRequest>? Items, string? ReasonCode, string? Note);

    private sealed record MatchMemberRequest(string? Provider, string? ProviderTxId, string? Etag);

    private sealed record MatchRequest(List<MatchMemberRequest>? Transactions, List<string>? LedgerIds, string? Note);

    private sealed record ResolveRequest(string? ReasonCode, string? Note, string? Etag);

    private static HostReply Reply(ReviewOutcome outcome) => new((HttpStatusCode)outcome.Status, outcome.Body);

    private static async Task<(T? Request, List<string> Errors)> ReadAsync<T>(Stream body, CancellationToken ct, int maxBytes = MaxBodyBytes) where T : class
    {
        ArgumentNullException.ThrowIfNull(body);
        var buffer = new byte[maxBytes + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await body.ReadAsync(buffer.AsMemory(length), ct).ConfigureAwait(false)) > 0)
        {
            length += read;
        }
        if (length > maxBytes)
        {
            return (null, [$"body: larger than {maxBytes} bytes"]);
        }
        try
        {
            var request = JsonSerializer.Deserialize<T>(buffer.AsSpan(0, length), Json);
            return request is null ? (null, ["body: a JSON object is required"]) : (request, []);
        }
        catch (JsonException ex)
        {
            return (null, [$"body: not a valid request ({ex.Message.Split(". ")[0]})"]);
        }
    }
}
