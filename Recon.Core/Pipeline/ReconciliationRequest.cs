using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Recon.Core.Domain;

namespace Recon.Core.Pipeline;

/// <summary>A provider event that asks for reconciliation, e.g. a Stripe <c>payout.paid</c>.</summary>
/// <param name="Type">Event type, e.g. <c>payout.paid</c>.</param>
/// <param name="Id">The provider's id of the object (payout id).</param>
/// <param name="Date">The day it concerns (a payout's arrival date).</param>
/// <param name="AmountMinor">Its amount in minor units: the value that sets the batch's priority.</param>
/// <param name="Currency">ISO 4217 code.</param>
public sealed record ProviderEvent(string Type, string Id, DateOnly Date, long AmountMinor, string Currency);

/// <summary>
/// What a caller asks Recon to reconcile: one provider account over a date range, or the day a provider event
/// names. The body of <c>POST /api/reconciliations</c> and of a <c>recon-ingest</c> queue message.
/// </summary>
/// <param name="Provider">One of <see cref="Providers"/> (not <c>csv</c>).</param>
/// <param name="Account">The account at the provider.</param>
/// <param name="From">First value date, inclusive (ignored when <paramref name="Event"/> is set).</param>
/// <param name="To">Last value date, inclusive.</param>
/// <param name="Event">Set for event-driven requests.</param>
/// <param name="PageSize">Objects per provider page, 1..<see cref="ReconciliationRequests.MaxPageSize"/>.</param>
/// <param name="RunId">Names the run; derived from the content when absent, so the same message twice is the same run.</param>
public sealed record ReconciliationRequest(
    string Provider,
    string Account,
    DateOnly? From,
    DateOnly? To,
    ProviderEvent? Event = null,
    int PageSize = ReconciliationRequests.DefaultPageSize,
    string? RunId = null);

/// <summary>Validation and identity of <see cref="ReconciliationRequest"/>s.</summary>
public static class ReconciliationRequests
{
    /// <summary>Stripe's list endpoints return at most 100 objects; one batch = one page of at most that.</summary>
    public const int MaxPageSize = 100;

    public const int DefaultPageSize = 100;

    /// <summary>A request covers at most 31 days: one batch chain per day, so a month is at most 31 chains.</summary>
    public const int MaxDays = 31;

    /// <summary>Longer account ids are refused; no provider uses more, and it bounds the batch row.</summary>
    public const int MaxAccountLength = 200;

    /// <summary>Every problem with <paramref name="request"/>, each as "field: reason"; empty when it is valid.</summary>
    public static IReadOnlyList<string> Validate(ReconciliationRequest? request)
    {
        if (request is null)
        {
            return ["body: a reconciliation request is required"];
        }
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(request.Provider) || !Providers.IsKnown(request.Provider) || request.Provider == Providers.Csv)
        {
            errors.Add($"provider: '{request.Provider}' is not one of {string.Join(", ", Providers.All.Where(p => p != Providers.Csv))}");
        }
        if (string.IsNullOrWhiteSpace(request.Account))
        {
            errors.Add("account: required");
        }
        else if (request.Account.Length > MaxAccountLength)
        {
            errors.Add($"account: longer than {MaxAccountLength} characters");
        }
        if (request.PageSize is < 1 or > MaxPageSize)
        {
            errors.Add($"pageSize: {request.PageSize} is outside 1..{MaxPageSize}");
        }
        if (request.RunId is { } runId && !IsValidRunId(runId))
        {
            errors.Add("runId: 1-64 letters, digits, '-' or '_'");
        }
        if (request.Event is { } e)
        {
            if (e.Type != "payout.paid")
            {
                errors.Add($"event.type: '{e.Type}' is not handled (payout.paid is)");
            }
            if (request.Provider != Providers.Stripe)
            {
                errors.Add("event: only Stripe events are handled");
            }
            if (string.IsNullOrWhiteSpace(e.Id))
            {
                errors.Add("event.id: required");
            }
            if (e.AmountMinor < 0)
            {
                errors.Add("event.amountMinor: must not be negative");
            }
            if (!Currency.IsValidCode(e.Currency))
            {
                errors.Add($"event.currency: '{e.Currency}' is not an ISO 4217 code");
            }
        }
        else if (request.From is not { } from || request.To is not { } to)
        {
            errors.Add("from/to: both dates are required (yyyy-MM-dd) unless an event is given");
        }
        else if (to < from)
        {
            errors.Add($"to: {to:yyyy-MM-dd} is before from {from:yyyy-MM-dd}");
        }
        else if (to.DayNumber - from.DayNumber + 1 > MaxDays)
        {
            errors.Add($"from/to: {to.DayNumber - from.DayNumber + 1} days is more than {MaxDays}");
        }
        return errors;
    }

    /// <summary>1-64 letters, digits, '-' or '_': what a caller's run id may be, and what every derived one is.</summary>
    public static bool IsValidRunId(string? runId)
        => runId is { Length: > 0 and <= 64 } && runId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>The run id: the caller's, or a hash of the content, so a message delivered twice is one run.</summary>
    public static string RunIdOf(ReconciliationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!string.IsNullOrEmpty(request.RunId))
        {
            return request.RunId;
        }
        var key = string.Join('|', request.Provider, request.Account,
            request.From?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), request.To?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            request.Event?.Type, request.Event?.Id, request.PageSize.ToString(CultureInfo.InvariantCulture));
        return "run-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..20];
    }
}
