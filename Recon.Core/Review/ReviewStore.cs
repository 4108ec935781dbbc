using System.Globalization;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Recon.Core.Matching;
using Recon.Core.Persistence;

namespace Recon.Core.Review;

/// <summary>Which open exceptions to list (all optional); keyset-paged on the exception id.</summary>
public sealed record ExceptionFilter(string? Provider, string? Account, DateOnly? From, DateOnly? To, long? MinAmountMinor, long? MaxAmountMinor,
    int? MinAgeDays, int Limit, long? After);

/// <summary>One provider transaction in a match: which, and the etag of its verdict as it was shown.</summary>
public sealed record MatchMember(string Provider, string ProviderTxId, string Etag);

/// <summary>What a review action came to: done (with a body), or refused (status and reason).</summary>
public sealed record ReviewOutcome(int Status, object Body)
{
    public static ReviewOutcome Ok(object body) => new(200, body);

    public static ReviewOutcome Refused(int status, string error) => new(status, new { error });
}

/// <summary>
/// The review queue and a person's actions on it: list open exceptions with their verdict, candidates and evidence;
/// confirm or make a match (1:1, 1:N, N:1), unmatch, resolve with a reason code. Every action runs in one transaction,
/// under the posting locks of the providers it touches (the lock <c>MatchingBatchPoster</c> takes, so a batch cannot post
/// over it half way), checks the etag the person saw (a stale one is refused, never applied) and is audited with the actor.
/// </summary>
/// <remarks>The etag is a hash of the verdict's content (outcome, entries, score, rule, reason, who decided), not of its
/// timestamp: a batch that re-posts the same verdict leaves it valid; any change to what the person saw makes it stale.</remarks>
public sealed class ReviewStore(DatabaseBulkhead database)
{
    /// <summary>Most items one page returns: a screenful of review work many times over, and a bounded response.</summary>
    public const int MaxPageSize = 500;

    /// <summary>What <see cref="MatchAsync"/> answers for a proposal below a bulk confirm's minimum score: not an error of
    /// the request (the caller asked for "above the score"), reported as skipped.</summary>
    public const int BelowScoreStatus = 422;

    /// <summary>Most items one bulk action takes: each is its own transaction and audit entry (a few ms), so a call stays
    /// within seconds; a larger set is worked in several calls (<c>remaining</c> says how many are left).</summary>
    public const int MaxBulkItems = 1000;

    /// <summary>The reason codes a person may close an exception with.</summary>
    public static IReadOnlyList<string> ResolutionCodes { get; } =
        ["timing_difference", "written_off", "duplicate_refunded", "bank_error", "ledger_corrected", "not_ours", "other"];

    // the verdict etag: content only (see remarks); chr(31) cannot occur in a ledger id list's separator position
    private const string VerdictEtagSql = "md5(concat_ws('|', r.outcome, array_to_string(r.ledger_ids, chr(31)), r.decided_by, r.score::text, r.rule, r.reason))";
    private const string NoVerdictEtag = "md5('no verdict')";

    // an exception's etag: its verdict's (a provider transaction), its entry's version (a ledger entry), its difference (a
    // statement day that does not prove: a new difference is a different question)
    private const string ExceptionEtagSql = "case when e.kind = 'ledger_entry' then md5('ledger|' || e.id || '|' || coalesce(l.version, 0)) "
        + "when e.kind = 'balance_unproved' then md5('balance|' || e.id || '|' || e.amount_minor) "
        + "else coalesce(" + VerdictEtagSql + ", " + NoVerdictEtag + ") end";

    /// <summary>One page of open exceptions, oldest first.</summary>
    public Task<object> ListAsync(ExceptionFilter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return database.RunAsync<object>(async (c, ct) =>
        {
            await using var cmd = new NpgsqlCommand($"""
                select e.id, e.kind, e.provider, e.provider_tx_id, e.ledger_id, coalesce(pt.account, l.account, e.account), coalesce(pt.value_date, l.value_date, e.statement_day),
                       e.amount_minor, e.currency, e.reason, e.created_at, (now()::date - e.created_at::date),
                       r.outcome, r.score, r.rule, r.difference_minor, r.decided_by,
                       (select coalesce(jsonb_agg(jsonb_build_object('id', c.id, 'account', c.account, 'amountMinor', c.amount_minor,
                                 'currency', c.currency, 'valueDate', c.value_date, 'reference', c.reference, 'version', c.version) order by c.id), '[]'::jsonb)
                        from ledger_entries c where c.id = any(r.ledger_ids))::text,
                       {ExceptionEtagSql}
                from exceptions e
                left join provider_transactions pt on e.kind = 'provider_transaction' and pt.provider = e.provider and pt.provider_tx_id = e.provider_tx_id
                left join reconciliation_results r on e.kind = 'provider_transaction' and r.provider = e.provider and r.provider_tx_id = e.provider_tx_id
                left join ledger_entries l on e.kind = 'ledger_entry' and l.id = e.ledger_id
                where e.status = 'open'
                  and ($1::text is null or e.provider = $1)
                  and ($2::text is null or coalesce(pt.account, l.account, e.account) = $2)
                  and ($3::date is null or coalesce(pt.value_date, l.value_date, e.statement_day) >= $3)
                  and ($4::date is null or coalesce(pt.value_date, l.value_date, e.statement_day) <= $4)
                  and ($5::bigint is null or abs(e.amount_minor) >= $5)
                  and ($6::bigint is null or abs(e.amount_minor) <= $6)
                  and ($7::int is null or e.created_at <= now() - make_interval(days => $7))
                  and ($8::bigint is null or e.id > $8)
                order by e.id
                limit $9
                """, c);
            cmd.Parameters.Add(new() { Value = (object?)filter.Provider ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = (object?)filter.Account ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = filter.From is { } f ? f : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Date });
            cmd.Parameters.Add(new() { Value = filter.To is { } t ? t : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Date });
            cmd.Parameters.Add(new() { Value = (object?)filter.MinAmountMinor ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint });
            cmd.Parameters.Add(new() { Value = (object?)filter.MaxAmountMinor ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint });
            cmd.Parameters.Add(new() { Value = (object?)filter.MinAgeDays ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
            cmd.Parameters.Add(new() { Value = (object?)filter.After ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint });
            cmd.Parameters.Add(new() { Value = filter.Limit + 1 });
            var items = new List<object>();
            long? last = null;
            var more = false;
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                if (items.Count == filter.Limit)
                {
                    more = true;
                    break;
                }
                last = r.GetInt64(0);
                using var candidates = JsonDocument.Parse(r.GetString(17));
                items.Add(new
                {
                    id = r.GetInt64(0),
                    kind = r.GetString(1),
                    provider = Text(r, 2),
                    providerTxId = Text(r, 3),
                    ledgerId = Text(r, 4),
                    account = Text(r, 5),
                    valueDate = r.IsDBNull(6) ? null : r.GetFieldValue<DateOnly>(6).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                    amountMinor = r.GetInt64(7),
                    currency = r.GetString(8).Trim(),
                    reason = r.GetString(9),
                    openedAt = r.GetFieldValue<DateTime>(10),
                    ageDays = r.GetInt32(11),
                    outcome = Text(r, 12),
                    score = r.IsDBNull(13) ? (int?)null : r.GetInt32(13),
                    rule = Text(r, 14),
                    differenceMinor = r.IsDBNull(15) ? (long?)null : r.GetInt64(15),
                    decidedBy = Text(r, 16),
                    candidates = candidates.RootElement.Clone(),
                    etag = r.GetString(18),
                });
            }
            return new { items, next = more ? last?.ToString(CultureInfo.InvariantCulture) : null };
        }, cancellationToken);
    }

    /// <summary>The proposals a bulk confirm by filter takes: proposed verdicts scored at least <paramref name="minScore"/>
    /// (all filters optional), at most <see cref="MaxBulkItems"/>, with their etags as of now; and how many more there are.</summary>
    public Task<(List<MatchMember> Members, long Remaining)> ProposalsAsync(string? runId, string? provider, string? account, DateOnly? day, int minScore,
        CancellationToken cancellationToken = default)
        => database.RunAsync(async (c, ct) =>
        {
            await using var cmd = new NpgsqlCommand($$"""
                select r.provider, r.provider_tx_id, {{VerdictEtagSql}}, count(*) over ()
                from reconciliation_results r
                join provider_transactions pt on pt.provider = r.provider and pt.provider_tx_id = r.provider_tx_id
                where r.outcome = 'proposed' and r.score >= $5
                  and ($1::text is null or r.batch_id in (select batch_id from batches where run_id = $1))
                  and ($2::text is null or r.provider = $2)
                  and ($3::text is null or pt.account = $3)
                  and ($4::date is null or pt.value_date = $4)
                order by r.provider, r.provider_tx_id
                limit $6
                """, c);
            cmd.Parameters.Add(new() { Value = (object?)runId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = (object?)provider ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = (object?)account ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = day is { } d ? d : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Date });
            cmd.Parameters.Add(new() { Value = minScore });
            cmd.Parameters.Add(new() { Value = MaxBulkItems });
            var members = new List<MatchMember>();
            long total = 0;
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                members.Add(new MatchMember(r.GetString(0), r.GetString(1), r.GetString(2)));
                total = r.GetInt64(3);
            }
            return (members, total - members.Count);
        }, cancellationToken);

    /// <summary>The etag of a verdict as SQL over <c>reconciliation_results r</c> (what a results page shows for a bulk confirm).</summary>
    public static string VerdictEtagSqlOf => VerdictEtagSql;

    /// <summary>A provider transaction's verdict with its etag (what unmatch needs), or null.</summary>
    public Task<object?> VerdictAsync(string provider, string providerTxId, CancellationToken cancellationToken = default)
        => database.RunAsync<object?>(async (c, ct) =>
        {
            await using var cmd = new NpgsqlCommand($"""
                select r.outcome, r.ledger_ids, r.score, r.rule, r.reason, r.difference_minor, r.decided_by, {VerdictEtagSql}
                from reconciliation_results r where r.provider = $1 and r.provider_tx_id = $2
                """, c);
            cmd.Parameters.Add(new() { Value = provider });
            cmd.Parameters.Add(new() { Value = providerTxId });
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            return await r.ReadAsync(ct).ConfigureAwait(false)
                ? new
                {
                    provider, providerTxId, outcome = r.GetString(0), ledgerIds = r.GetFieldValue<string[]>(1), score = r.GetInt32(2), rule = r.GetString(3),
                    reason = r.GetString(4), differenceMinor = r.GetInt64(5), decidedBy = r.GetString(6), etag = r.GetString(7),
                }
                : null;
        }, cancellationToken);

    /// <summary>Confirms a proposal (<paramref name="ledgerIds"/> empty: the proposed entries) or matches by hand: one
    /// transaction to one or more entries (1:1, 1:N) or several transactions to one entry (N:1). With a minimum score (bulk
    /// confirm), a proposal scored below it is not confirmed: <see cref="BelowScoreStatus"/>.</summary>
    public Task<ReviewOutcome> MatchAsync(IReadOnlyList<MatchMember> members, IReadOnlyList<string> ledgerIds, string actor, string? note, CancellationToken cancellationToken = default,
        int? minScore = null)
    {
        ArgumentNullException.ThrowIfNull(members);
        ArgumentNullException.ThrowIfNull(ledgerIds);
        return database.RunAsync(async (c, ct) =>
        {
            await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
            await LockAsync(c, tx, members.Select(m => m.Provider), ct).ConfigureAwait(false);
            var previous = new List<Dictionary<string, object?>>();
            var ids = ledgerIds.ToArray();
            foreach (var m in members)
            {
                var verdict = await ReadVerdictAsync(c, tx, m.Provider, m.ProviderTxId, ct).ConfigureAwait(false);
                var known = verdict is not null || await ExistsAsync(c, tx, "select 1 from provider_transactions where provider = $1 and provider_tx_id = $2", ct, m.Provider, m.ProviderTxId).ConfigureAwait(false);
                if (!known)
                {
                    return ReviewOutcome.Refused(404, $"no provider transaction {m.Provider}:{m.ProviderTxId}");
                }
                var etag = verdict?.Etag ?? await ScalarAsync(c, tx, $"select {NoVerdictEtag}", ct).ConfigureAwait(false);
                if (etag != m.Etag)
                {
                    return ReviewOutcome.Refused(409, $"{m.Provider}:{m.ProviderTxId} changed since it was shown (now {verdict?.Outcome ?? "without a verdict"}); reload and decide again");
                }
                if (ids.Length == 0)
                {
                    // confirm: the entries the engine proposed
                    if (members.Count != 1 || verdict is null || verdict.Outcome != "proposed" || verdict.LedgerIds.Length == 0)
                    {
                        return ReviewOutcome.Refused(400, $"ledgerIds: required (only one proposed verdict can be confirmed without naming entries; {m.Provider}:{m.ProviderTxId} is {verdict?.Outcome ?? "without a verdict"})");
                    }
                    if (verdict.Score < minScore)
                    {
                        return ReviewOutcome.Refused(BelowScoreStatus, $"{m.Provider}:{m.ProviderTxId} is proposed at score {verdict.Score}, below {minScore}");
                    }
                    ids = verdict.LedgerIds;
                }
                previous.Add(new Dictionary<string, object?>
                {
                    ["provider"] = m.Provider, ["provider_tx_id"] = m.ProviderTxId, ["previous_outcome"] = verdict?.Outcome,
                    ["previous_ledger_ids"] = verdict?.LedgerIds, ["previous_decided_by"] = verdict?.DecidedBy,
                });
            }
            var confirm = ledgerIds.Count == 0;
            await using (var missing = new NpgsqlCommand("select u.id from unnest($1::text[]) u(id) where not exists (select 1 from ledger_entries l where l.id = u.id) limit 1", c, tx))
            {
                missing.Parameters.Add(new() { Value = ids });
                if (await missing.ExecuteScalarAsync(ct).ConfigureAwait(false) is string id)
                {
                    return ReviewOutcome.Refused(404, $"no ledger entry '{id}'");
                }
            }
            var providers = members.Select(m => m.Provider).ToArray();
            var txIds = members.Select(m => m.ProviderTxId).ToArray();
            await using (var taken = new NpgsqlCommand("""
                select r.provider || ':' || r.provider_tx_id from reconciliation_results r
                where r.outcome = 'matched' and r.ledger_ids && $1
                  and not exists (select 1 from unnest($2::text[], $3::text[]) u(p, i) where u.p = r.provider and u.i = r.provider_tx_id)
                limit 1
                """, c, tx))
            {
                taken.Parameters.Add(new() { Value = ids });
                taken.Parameters.Add(new() { Value = providers });
                taken.Parameters.Add(new() { Value = txIds });
                if (await taken.ExecuteScalarAsync(ct).ConfigureAwait(false) is string other)
                {
                    return ReviewOutcome.Refused(409, $"a ledger entry of {string.Join(", ", ids)} is already matched to {other}; unmatch it first");
                }
            }
            long difference;
            await using (var diff = new NpgsqlCommand("""
                select coalesce((select sum(pt.amount_minor) from provider_transactions pt join unnest($2::text[], $3::text[]) u(p, i) on pt.provider = u.p and pt.provider_tx_id = u.i), 0)::bigint
                     - coalesce((select sum(amount_minor) from ledger_entries where id = any($1)), 0)::bigint
                """, c, tx))
            {
                diff.Parameters.Add(new() { Value = ids });
                diff.Parameters.Add(new() { Value = providers });
                diff.Parameters.Add(new() { Value = txIds });
                difference = (long)(await diff.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
            }
            await using (var upsert = new NpgsqlCommand("""
                insert into reconciliation_results as r (provider, provider_tx_id, ledger_ids, outcome, reason, score, difference_minor, rule, decided_by)
                select u.p, u.i, $1, 'matched', $4, 1000, $5, $6, 'manual' from unnest($2::text[], $3::text[]) u(p, i)
                on conflict (provider, provider_tx_id) do update set ledger_ids = excluded.ledger_ids, outcome = 'matched', reason = excluded.reason,
                    score = 1000, difference_minor = excluded.difference_minor, rule = excluded.rule, decided_by = 'manual', updated_at = now()
                """, c, tx))
            {
                upsert.Parameters.Add(new() { Value = ids });
                upsert.Parameters.Add(new() { Value = providers });
                upsert.Parameters.Add(new() { Value = txIds });
                upsert.Parameters.Add(new() { Value = confirm ? "ConfirmedProposal" : "ManualMatch" });
                upsert.Parameters.Add(new() { Value = difference });
                upsert.Parameters.Add(new() { Value = MatchRuleNames.Manual });
                await upsert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            await using (var resolve = new NpgsqlCommand("""
                update exceptions e set status = 'resolved', resolved_at = now(), resolution_code = 'matched', resolved_by = $4
                where e.status = 'open'
                  and ((e.kind = 'ledger_entry' and e.ledger_id = any($1))
                    or (e.kind = 'provider_transaction' and exists (select 1 from unnest($2::text[], $3::text[]) u(p, i) where u.p = e.provider and u.i = e.provider_tx_id)))
                """, c, tx))
            {
                resolve.Parameters.Add(new() { Value = ids });
                resolve.Parameters.Add(new() { Value = providers });
                resolve.Parameters.Add(new() { Value = txIds });
                resolve.Parameters.Add(new() { Value = actor });
                await resolve.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            var action = confirm ? "confirm_match" : "manual_match";
            await AuditAsync(c, tx, actor, action, string.Join(",", members.Select(m => $"{m.Provider}:{m.ProviderTxId}")), new Dictionary<string, object?>
            {
                ["ledger_ids"] = ids, ["difference_minor"] = difference, ["shape"] = $"{members.Count}:{ids.Length}", ["previous"] = previous, ["note"] = note,
            }, ct).ConfigureAwait(false);
            var etags = new List<object>();
            foreach (var m in members)
            {
                etags.Add(new { provider = m.Provider, providerTxId = m.ProviderTxId, etag = (await ReadVerdictAsync(c, tx, m.Provider, m.ProviderTxId, ct).ConfigureAwait(false))!.Etag });
            }
            await tx.CommitAsync(ct).ConfigureAwait(false);
            return ReviewOutcome.Ok(new { action, ledgerIds = ids, differenceMinor = difference, transactions = etags });
        }, cancellationToken);
    }

    /// <summary>Undoes a verdict (through <see cref="ReconciliationStore.UnmatchAsync"/>) when its etag is the one shown.</summary>
    public Task<ReviewOutcome> UnmatchAsync(string provider, string providerTxId, string etag, string actor, string? note, CancellationToken cancellationToken = default)
        => database.RunAsync(async (c, ct) =>
        {
            await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
            await LockAsync(c, tx, [provider], ct).ConfigureAwait(false);
            var verdict = await ReadVerdictAsync(c, tx, provider, providerTxId, ct).ConfigureAwait(false);
            if (verdict is null)
            {
                return ReviewOutcome.Refused(404, $"{provider}:{providerTxId} has no verdict to undo");
            }
            if (verdict.Etag != etag)
            {
                return ReviewOutcome.Refused(409, $"{provider}:{providerTxId} changed since it was shown (now {verdict.Outcome}); reload and decide again");
            }
            await ReconciliationStore.UnmatchAsync(c, tx, provider, providerTxId, actor, note, ct).ConfigureAwait(false);
            var now = (await ReadVerdictAsync(c, tx, provider, providerTxId, ct).ConfigureAwait(false))!;
            await tx.CommitAsync(ct).ConfigureAwait(false);
            return ReviewOutcome.Ok(new { provider, providerTxId, outcome = now.Outcome, previousLedgerIds = verdict.LedgerIds, etag = now.Etag });
        }, cancellationToken);

    /// <summary>Closes an open exception with a reason code (and a note; required for <c>other</c>).</summary>
    public Task<ReviewOutcome> ResolveAsync(long id, string reasonCode, string? note, string etag, string actor, CancellationToken cancellationToken = default)
        => database.RunAsync(async (c, ct) =>
        {
            await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
            await using var read = new NpgsqlCommand($"""
                select e.status, e.resolved_by, e.resolved_at,
                       {ExceptionEtagSql},
                       e.kind, coalesce(e.provider || ':' || e.provider_tx_id, e.ledger_id, e.provider || ':' || e.account || ':' || e.statement_day::text)
                from exceptions e
                left join reconciliation_results r on e.kind = 'provider_transaction' and r.provider = e.provider and r.provider_tx_id = e.provider_tx_id
                left join ledger_entries l on e.kind = 'ledger_entry' and l.id = e.ledger_id
                where e.id = $1
                for update of e
                """, c, tx);
            read.Parameters.Add(new() { Value = id });
            string status, current, kind, subject;
            string? by;
            DateTime? at;
            await using (var r = await read.ExecuteReaderAsync(ct).ConfigureAwait(false))
            {
                if (!await r.ReadAsync(ct).ConfigureAwait(false))
                {
                    return ReviewOutcome.Refused(404, $"no exception {id}");
                }
                (status, by, at, current, kind, subject) = (r.GetString(0), Text(r, 1), r.IsDBNull(2) ? null : r.GetDateTime(2), r.GetString(3), r.GetString(4), r.GetString(5));
            }
            if (status != "open")
            {
                // who and when are in the audit trail (GET /api/audit); the answer says only what happened, the same on every host
                return ReviewOutcome.Refused(409, $"exception {id} is already resolved{(by is null ? " (its item matched)" : " by a person")}; reload");
            }
            if (current != etag)
            {
                return ReviewOutcome.Refused(409, $"exception {id} ({subject}) changed since it was shown; reload and decide again");
            }
            await using (var update = new NpgsqlCommand("""
                update exceptions set status = 'resolved', resolved_at = now(), resolution_code = $2, resolution_note = $3, resolved_by = $4 where id = $1
                """, c, tx))
            {
                update.Parameters.Add(new() { Value = id });
                update.Parameters.Add(new() { Value = reasonCode });
                update.Parameters.Add(new() { Value = (object?)note ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
                update.Parameters.Add(new() { Value = actor });
                await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            await AuditAsync(c, tx, actor, "resolve_exception", subject, new Dictionary<string, object?>
            {
                ["exception_id"] = id, ["kind"] = kind, ["reason_code"] = reasonCode, ["note"] = note,
            }, ct).ConfigureAwait(false);
            await tx.CommitAsync(ct).ConfigureAwait(false);
            return ReviewOutcome.Ok(new { id, status = "resolved", reasonCode });
        }, cancellationToken);

    /// <summary>The audit trail, newest first (the web page's and <c>recon audit</c>'s view).</summary>
    public Task<object> AuditAsync(int limit, CancellationToken cancellationToken = default)
        => database.RunAsync<object>(async (c, ct) =>
        {
            await using var cmd = new NpgsqlCommand("select id, at, actor, action, subject, detail::text from audit_log order by id desc limit $1", c);
            cmd.Parameters.Add(new() { Value = Math.Clamp(limit, 1, MaxPageSize) });
            var items = new List<object>();
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                using var detail = JsonDocument.Parse(r.GetString(5));
                items.Add(new { id = r.GetInt64(0), at = r.GetFieldValue<DateTime>(1), actor = r.GetString(2), action = r.GetString(3), subject = r.GetString(4), detail = detail.RootElement.Clone() });
            }
            return new { items };
        }, cancellationToken);

    private sealed record Verdict(string Outcome, string[] LedgerIds, string DecidedBy, string Etag, int Score);

    private static async Task<Verdict?> ReadVerdictAsync(NpgsqlConnection c, NpgsqlTransaction tx, string provider, string providerTxId, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand($"select r.outcome, r.ledger_ids, r.decided_by, {VerdictEtagSql}, r.score from reconciliation_results r where r.provider = $1 and r.provider_tx_id = $2 for update", c, tx);
        cmd.Parameters.Add(new() { Value = provider });
        cmd.Parameters.Add(new() { Value = providerTxId });
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await r.ReadAsync(ct).ConfigureAwait(false) ? new Verdict(r.GetString(0), r.GetFieldValue<string[]>(1), r.GetString(2), r.GetString(3), r.GetInt32(4)) : null;
    }

    /// <summary>The posting lock of each provider, in a fixed order (as the ledger import takes them): no deadlock.</summary>
    private static async Task LockAsync(NpgsqlConnection c, NpgsqlTransaction tx, IEnumerable<string> providers, CancellationToken ct)
    {
        foreach (var provider in providers.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            await using var cmd = new NpgsqlCommand("select pg_advisory_xact_lock(hashtext('recon:post:' || $1))", c, tx);
            cmd.Parameters.Add(new() { Value = provider });
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
    }

    private static async Task<bool> ExistsAsync(NpgsqlConnection c, NpgsqlTransaction tx, string sql, CancellationToken ct, params object[] args)
    {
        await using var cmd = new NpgsqlCommand(sql, c, tx);
        foreach (var a in args)
        {
            cmd.Parameters.Add(new() { Value = a });
        }
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is not null;
    }

    private static async Task<string> ScalarAsync(NpgsqlConnection c, NpgsqlTransaction tx, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, c, tx);
        return (string)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }

    private static async Task AuditAsync(NpgsqlConnection c, NpgsqlTransaction tx, string actor, string action, string subject, Dictionary<string, object?> detail, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("insert into audit_log (actor, action, subject, detail) values ($1, $2, $3, $4)", c, tx);
        cmd.Parameters.Add(new() { Value = actor });
        cmd.Parameters.Add(new() { Value = action });
        cmd.Parameters.Add(new() { Value = subject });
        cmd.Parameters.Add(new() { Value = JsonSerializer.Serialize(detail), NpgsqlDbType = NpgsqlDbType.Jsonb });
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private static string? Text(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);
}
