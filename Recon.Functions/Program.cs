using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using Recon.Core.Persistence;
using Recon.Core.Pipeline;
using Recon.Functions;

var builder = FunctionsApplication.CreateBuilder(args);
// refuse to start with a database connection budget that does not fit (README, "Connection budget")
ConnectionBudget.CheckAtStartup(builder.Configuration, Path.Combine(AppContext.BaseDirectory, "host.json"));
builder.ConfigureFunctionsWebApplication();
// the same Core services Recon.Worker registers (one extension, so the two hosts cannot drift); activities are built
// per invocation from these
builder.Services.AddReconPipeline(builder.Configuration);
// Recon's metrics and spans go to Application Insights when APPLICATIONINSIGHTS_CONNECTION_STRING is set (in Azure).
builder.Services.AddReconTelemetry(builder.Configuration);
builder.Build().Run();
