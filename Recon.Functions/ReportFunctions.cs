using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Recon.Core.Reports;

namespace Recon.Functions;

/// <summary>Balances, results and reports: thin triggers over Core's <see cref="ReportIntake"/>, the same calls Recon.Worker
/// makes. Every one needs a function key (they name accounts, counterparties and amounts).</summary>
public sealed class ReportFunctions(ReportIntake intake)
{
    [Function("Balances")]
    public async Task<IActionResult> BalancesAsync([HttpTrigger(AuthorizationLevel.Function, "get", Route = "balances")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new HostReplyResult(await intake.BalancesAsync(ReviewFunctions.QueryOf(request), request.HttpContext.RequestAborted).ConfigureAwait(false));
    }
}
