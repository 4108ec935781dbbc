using Azure.Storage.Queues.Models;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Recon.Core.Ledger;
using Recon.Core.Queues;
using Recon.Core.Review;

namespace Recon.Functions;

/// <summary>Ledger in: thin triggers over Core's <see cref="LedgerIntake"/>, the same calls Recon.Worker makes.</summary>
public sealed class LedgerFunctions(LedgerIntake intake, ReviewOptions review)
{
    /// <summary>The header App Service authentication sets to the signed-in principal's name.</summary>
    public const string PrincipalNameHeader = "x-ms-client-principal-name";

    [Function("ImportLedgerEntries")]
    public async Task<IActionResult> ImportAsync(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "ledger-entries")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new HostReplyResult(await intake.ImportAsync(request.Body, ActorOf(request, review), request.HttpContext.RequestAborted).ConfigureAwait(false));
    }

    /// <summary>Imports a message, or poisons it with its reason at once when it cannot be read (as Recon.Worker does);
    /// an import that failed throws, so the message comes back (host.json maxDequeueCount).</summary>
    [Function("LedgerFromQueue")]
    public Task LedgerFromQueueAsync([QueueTrigger(QueueNames.Ledger)] QueueMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        return intake.FromQueueAsync(new LedgerMessage(message.MessageId, message.Body.ToString(), message.DequeueCount),
            review.ActorOf(null, QueueNames.Ledger), cancellationToken);
    }

    /// <summary>The signed-in principal (Entra through App Service authentication), else the configured operator, else
    /// "function-key": a function key names no person.</summary>
    internal static string ActorOf(HttpRequest request, ReviewOptions review)
        => review.ActorOf(request.Headers[PrincipalNameHeader].FirstOrDefault(), ReviewOptions.FunctionKeyActor);
}
