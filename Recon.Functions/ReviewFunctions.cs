using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Recon.Core.Review;

namespace Recon.Functions;

/// <summary>The review API: thin triggers over Core's <see cref="ReviewIntake"/>, the same calls Recon.Worker makes. Every
/// one needs a function key (reads included: exceptions name counterparties and amounts).</summary>
public sealed class ReviewFunctions(ReviewIntake intake, ReviewOptions review)
{
    [Function("ListExceptions")]
    public async Task<IActionResult> ListExceptionsAsync([HttpTrigger(AuthorizationLevel.Function, "get", Route = "exceptions")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new HostReplyResult(await intake.ListExceptionsAsync(QueryOf(request), request.HttpContext.RequestAborted).ConfigureAwait(false));
    }

    [Function("ResolveException")]
    public async Task<IActionResult> ResolveAsync([HttpTrigger(AuthorizationLevel.Function, "post", Route = "exceptions/{id}/resolve")] HttpRequest request, string id)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new HostReplyResult(await intake.ResolveAsync(id, request.Body, LedgerFunctions.ActorOf(request, review), request.HttpContext.RequestAborted).ConfigureAwait(false));
    }

    [Function("Match")]
    public async Task<IActionResult> MatchAsync([HttpTrigger(AuthorizationLevel.Function, "post", Route = "matches")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new HostReplyResult(await intake.MatchAsync(request.Body, LedgerFunctions.ActorOf(request, review), request.HttpContext.RequestAborted).ConfigureAwait(false));
    }

    [Function("BulkConfirm")]
    public async Task<IActionResult> BulkConfirmAsync([HttpTrigger(AuthorizationLevel.Function, "post", Route = "matches/confirm")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new HostReplyResult(await intake.BulkConfirmAsync(request.Body, LedgerFunctions.ActorOf(request, review), request.HttpContext.RequestAborted).ConfigureAwait(false));
    }

    [Function("BulkResolve")]
    public async Task<IActionResult> BulkResolveAsync([HttpTrigger(AuthorizationLevel.Function, "post", Route = "exceptions/resolve")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new HostReplyResult(await intake.BulkResolveAsync(request.Body, LedgerFunctions.ActorOf(request, review), request.HttpContext.RequestAborted).ConfigureAwait(false));
    }

    [Function("GetMatch")]
    public async Task<IActionResult> VerdictAsync([HttpTrigger(AuthorizationLevel.Function, "get", Route = "matches/{provider}/{providerTxId}")] HttpRequest request, string provider, string providerTxId)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new HostReplyResult(await intake.VerdictAsync(provider, providerTxId, request.HttpContext.RequestAborted).ConfigureAwait(false));
    }

    [Function("Unmatch")]
    public async Task<IActionResult> UnmatchAsync([HttpTrigger(AuthorizationLevel.Function, "delete", Route = "matches/{provider}/{providerTxId}")] HttpRequest request, string provider, string providerTxId)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new HostReplyResult(await intake.UnmatchAsync(provider, providerTxId, QueryOf(request), LedgerFunctions.ActorOf(request, review), request.HttpContext.RequestAborted).ConfigureAwait(false));
    }

    [Function("Audit")]
    public async Task<IActionResult> AuditAsync([HttpTrigger(AuthorizationLevel.Function, "get", Route = "audit")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new HostReplyResult(await intake.AuditAsync(QueryOf(request), request.HttpContext.RequestAborted).ConfigureAwait(false));
    }

    /// <summary>The query string as Core takes it (a repeated key: its last value), as Recon.Worker passes it.</summary>
    internal static Dictionary<string, string?> QueryOf(HttpRequest request)
        => request.Query.ToDictionary(q => q.Key, q => (string?)q.Value.LastOrDefault(), StringComparer.Ordinal);
}
