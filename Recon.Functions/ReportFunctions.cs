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

    [Function("Results")]
    public async Task<IActionResult> ResultsAsync([HttpTrigger(AuthorizationLevel.Function, "get", Route = "results")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new HostReplyResult(await intake.ResultsAsync(ReviewFunctions.QueryOf(request), request.HttpContext.RequestAborted).ConfigureAwait(false));
    }

    [Function("ResultsExport")]
    public IActionResult Export([HttpTrigger(AuthorizationLevel.Function, "get", Route = "results/export")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new HostReplyResult(intake.Export(ReviewFunctions.QueryOf(request)));
    }

    [Function("DailyReport")]
    public async Task<IActionResult> DailyAsync([HttpTrigger(AuthorizationLevel.Function, "get", Route = "reports/daily")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new HostReplyResult(await intake.DailyAsync(ReviewFunctions.QueryOf(request), request.HttpContext.RequestAborted).ConfigureAwait(false));
    }

    [Function("RunReconciliationReport")]
    public async Task<IActionResult> RunReportAsync([HttpTrigger(AuthorizationLevel.Function, "get", Route = "reports/runs/{runId}")] HttpRequest request, string runId)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new HostReplyResult(await intake.RunReportAsync(runId, ReviewFunctions.QueryOf(request), request.HttpContext.RequestAborted).ConfigureAwait(false));
    }
}
