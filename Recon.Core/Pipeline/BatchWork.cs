using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Recon.Core.Ingestion;

namespace Recon.Core.Pipeline;

/// <summary>One batch: one provider page to fetch, match and post. The input of <see cref="BatchRunner"/>
/// and the body of a recon-high / recon-low message.</summary>
/// <param name="BatchId">Deterministic (<see cref="BatchIds"/>): the key every step is idempotent on.</param>
/// <param name="RunId">The run it belongs to.</param>
/// <param name="Page">What to fetch.</param>
/// <param name="Priority">0 = high (recon-high), 1..10 = low (recon-low).</param>
/// <param name="ValueMinor">Business value that set the priority, minor units.</param>
/// <param name="Currency">Currency of <paramref name="ValueMinor"/>.</param>
/// <param name="Sequence">Page number in its chain, 0 for the first page.</param>
/// <param name="ChainCursor">The cursor the chain started from (pages after the first carry it): where a cursor chain
/// restarts when the provider's data changed during pagination.</param>
/// <param name="Generation">How often the chain was restarted; part of the batch id from 1 on, so a restarted chain's
/// pages are new batches rather than duplicates of the finished ones.</param>
public sealed record BatchWork(string BatchId, string RunId, PageRequest Page, int Priority, long ValueMinor, string Currency, int Sequence = 0,
    string? ChainCursor = null, int Generation = 0)
{
    /// <summary>High-priority batches (priority 0) go to recon-high.</summary>
    public bool IsHigh => Priority == 0;

    /// <summary>The cursor this batch's chain started from.</summary>
    public string? ChainStartCursor() => Sequence == 0 ? Page.Cursor : ChainCursor;
}

/// <summary>Deterministic batch ids: the same run, page and cursor always give the same id, so a duplicate
/// message or a replayed follow-up can never start a second orchestration for the same page.</summary>
public static class BatchIds
{
    /// <summary>"b-" + provider + 24 hex digits of SHA-256 over run, account, dates, cursor and page size (and the
    /// chain's generation from 1 on). Only letters, digits and '-': valid as an orchestration instance id and a queue message.</summary>
    public static string For(string runId, PageRequest page, int generation = 0)
    {
        ArgumentNullException.ThrowIfNull(page);
        var key = string.Join('|', runId, page.Provider, page.Account,
            page.From.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), page.To.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            page.Cursor ?? "", page.PageSize.ToString(CultureInfo.InvariantCulture));
        if (generation > 0)
        {
            key += "|g" + generation.ToString(CultureInfo.InvariantCulture);
        }
        return $"b-{page.Provider.Replace('_', '-')}-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..24]}";
    }

    /// <summary>The batch that fetches the page after <paramref name="batch"/>, from <paramref name="nextCursor"/>.</summary>
    public static BatchWork FollowUp(BatchWork batch, string nextCursor)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var page = batch.Page with { Cursor = nextCursor };
        return batch with { BatchId = For(batch.RunId, page, batch.Generation), Page = page, Sequence = batch.Sequence + 1, ChainCursor = batch.ChainStartCursor() };
    }

    /// <summary>The first page of <paramref name="batch"/>'s chain again, as the next generation: what Plaid asks for when
    /// its data changed during pagination (TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION).</summary>
    public static BatchWork RestartChain(BatchWork batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var page = batch.Page with { Cursor = batch.ChainStartCursor() };
        var generation = batch.Generation + 1;
        return batch with { BatchId = For(batch.RunId, page, generation), Page = page, Sequence = 0, ChainCursor = null, Generation = generation };
    }
}

/// <summary>Splits a valid request into first-page batches: one chain per day, because each day is an independent
/// provider query and days can then run in parallel; further pages follow as the chain discovers them.</summary>
public static class BatchPlanner
{
    public static IReadOnlyList<PageRequest> Pages(ReconciliationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var errors = ReconciliationRequests.Validate(request);
        if (errors.Count > 0)
        {
            throw new ArgumentException($"Invalid reconciliation request: {string.Join("; ", errors)}", nameof(request));
        }
        if (request.Event is { } e)
        {
            return [new PageRequest(request.Provider, request.Account, e.Date, e.Date, null, request.PageSize)];
        }
        if (request.Provider == Domain.Providers.Plaid)
        {
            // Plaid syncs by cursor, not by date: one chain over the item, from the first cursor
            return [new PageRequest(request.Provider, request.Account, request.From!.Value, request.To!.Value, null, request.PageSize)];
        }
        var pages = new List<PageRequest>();
        for (var day = request.From!.Value; day <= request.To!.Value; day = day.AddDays(1))
        {
            pages.Add(new PageRequest(request.Provider, request.Account, day, day, null, request.PageSize));
        }
        return pages;
    }
}
