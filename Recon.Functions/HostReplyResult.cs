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
        return response.WriteAsJsonAsync(Reply.Body, Reply.Body.GetType(), HostReply.JsonOptions, context.HttpContext.RequestAborted);
    }
}
