using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Recon.Functions;

/// <summary>Liveness probe: answers without touching any dependency.</summary>
public sealed class HealthFunction
{
    [Function(nameof(HealthFunction))]
    public static IActionResult Run([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest request)
        => new OkObjectResult(new { status = "ok", service = "recon" });
}
