using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using Recon.Core.Persistence;
using Recon.Functions;

var builder = FunctionsApplication.CreateBuilder(args);
// refuse to start with a database connection budget that does not fit (README, "Connection budget")
ConnectionBudget.CheckAtStartup(builder.Configuration, Path.Combine(AppContext.BaseDirectory, "host.json"));
builder.ConfigureFunctionsWebApplication();
// Recon's metrics and spans go to Application Insights when APPLICATIONINSIGHTS_CONNECTION_STRING is set (in Azure).
builder.Services.AddReconTelemetry(builder.Configuration);
builder.Build().Run();
