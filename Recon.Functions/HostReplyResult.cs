using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Recon.Core.Hosting;

namespace Recon.Functions;

/// <summary>Writes Core's <see cref="HostReply"/> as it is — status code first, then the JSON body — as Recon.Worker does.</summary>
public sealed class HostReplyResult(HostReply reply) : IActionResult
{
    public HostReply Reply { get; } = reply ?? throw new ArgumentNullException(nameof(reply));

    public Task ExecuteResultAsync(ActionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var response = context.HttpContext.Response;
        response.StatusCode = (int)Reply.StatusCode;
        if (Reply.Location is not null)
        {
            response.Headers.Location = Reply.Location;
        }
        if (Reply.Body is StreamedBody streamed)
        {
            // CSV or NDJSON, written as Core produces it, as Recon.Worker does
            response.ContentType = streamed.ContentType + "; charset=utf-8";
            if (streamed.FileName is not null)
            {
                response.Headers.ContentDisposition = $"attachment; filename=\"{streamed.FileName}\"";
            }
            return streamed.WriteAsync(response.Body, context.HttpContext.RequestAborted);
        }
        return response.WriteAsJsonAsync(Reply.Body, Reply.Body.GetType(), HostReply.JsonOptions, context.HttpContext.RequestAborted);
    }
}
