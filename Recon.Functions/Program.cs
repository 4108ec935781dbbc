using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using Recon.Core.Persistence;

var builder = FunctionsApplication.CreateBuilder(args);
// refuse to start with a database connection budget that does not fit (README, "Connection budget")
ConnectionBudget.CheckAtStartup(builder.Configuration, Path.Combine(AppContext.BaseDirectory, "host.json"));
builder.ConfigureFunctionsWebApplication();
builder.Build().Run();
