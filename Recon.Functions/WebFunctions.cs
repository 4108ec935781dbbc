using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Recon.Core.Hosting;
using Recon.Core.Pipeline;
using Recon.Core.Web;

namespace Recon.Functions;

/// <summary>The web page at <c>/api/ui</c> (the same bytes Recon.Worker serves) and the runs overview it reads,
/// <c>GET /api/runs</c> and <c>GET /api/runs/{runId}/report</c>: thin triggers over Core.</summary>
/// <remarks>The page is anonymous: it is static, holds no data and asks the user for the function key it then sends with
/// every call. Every data call needs a function key, as the rest of the API.</remarks>
public sealed class WebFunctions(RunsIntake runs)
{
    [Function("WebPage")]
    public static IActionResult Page([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "ui/{file?}")] HttpRequest request, string? file)
    {
        ArgumentNullException.ThrowIfNull(request);
        return WebPage.Find(file) is { } asset
            ? new WebAssetResult(asset)
            : new HostReplyResult(new HostReply(System.Net.HttpStatusCode.NotFound, new { error = $"the web page has no file '{file}'" }));
    }

    [Function("ListRuns")]
    public async Task<IActionResult> ListRunsAsync([HttpTrigger(AuthorizationLevel.Function, "get", Route = "runs")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new HostReplyResult(await runs.ListAsync(ReviewFunctions.QueryOf(request), request.HttpContext.RequestAborted).ConfigureAwait(false));
    }

    [Function("RunReport")]
    public async Task<IActionResult> RunReportAsync([HttpTrigger(AuthorizationLevel.Function, "get", Route = "runs/{runId}/report")] HttpRequest request, string runId)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new HostReplyResult(await runs.ReportAsync(runId, request.HttpContext.RequestAborted).ConfigureAwait(false));
    }
}

/// <summary>One file of the web page with the headers both hosts send (<see cref="WebPage.Headers"/>), or 304 when the
/// caller has these bytes already.</summary>
public sealed class WebAssetResult(WebAsset asset) : IActionResult
{
    public WebAsset Asset { get; } = asset ?? throw new ArgumentNullException(nameof(asset));

    public Task ExecuteResultAsync(ActionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var response = context.HttpContext.Response;
        foreach (var (name, value) in WebPage.Headers)
        {
            response.Headers[name] = value;
        }
        response.Headers.ETag = Asset.ETag;
        if (context.HttpContext.Request.Headers.IfNoneMatch == Asset.ETag)
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = Asset.ContentType;
        response.ContentLength = Asset.Content.Length;
        return response.Body.WriteAsync(Asset.Content, context.HttpContext.RequestAborted).AsTask();
    }
}
