using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using Recon.Functions;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
// Recon's metrics and spans go to Application Insights when APPLICATIONINSIGHTS_CONNECTION_STRING is set (in Azure).
builder.Services.AddReconTelemetry(builder.Configuration);
builder.Build().Run();
