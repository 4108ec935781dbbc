using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Recon.Core.Persistence;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
// the same Core services Recon.Worker registers; activities are built per invocation from these
var database = builder.Configuration.GetSection(DatabaseOptions.SectionName).Get<DatabaseOptions>() ?? new DatabaseOptions();
builder.Services.AddSingleton(database);
builder.Services.AddSingleton(_ => ReconDataSource.Create(database));
builder.Services.AddSingleton(sp => new DatabaseBulkhead(sp.GetRequiredService<Npgsql.NpgsqlDataSource>(), database));
builder.Services.AddSingleton<BatchStore>();
builder.Build().Run();
