using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Recon.Core.Pipeline;

namespace Recon.Functions;

/// <summary>
/// How the Functions app is put together, in one place: <c>Program.cs</c> runs it, and the deployment contract test builds
/// the same host from the app settings bicep deploys (without starting it, so no Functions host is needed).
/// </summary>
public static class ReconFunctionsApp
{
    /// <summary>host.json beside the app: its activity concurrency is part of the connection budget.</summary>
    public static string HostJsonPath => Path.Combine(AppContext.BaseDirectory, "host.json");

    /// <summary>Registers everything on <paramref name="builder"/>: <see cref="ConfigureHost"/>, then <see cref="AddServices"/>.</summary>
    public static FunctionsApplicationBuilder Configure(FunctionsApplicationBuilder builder, string? hostJsonPath = null)
        => AddServices(ConfigureHost(builder), hostJsonPath);

    /// <summary>The Functions worker's own parts: ASP.NET Core integration, and DI validated on build.</summary>
    /// <remarks>This adds the worker's configuration sources (the environment, where Azure puts the app settings), so the
    /// deployment contract test replaces them with the deployed settings between this step and <see cref="AddServices"/>.</remarks>
    public static FunctionsApplicationBuilder ConfigureHost(FunctionsApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.ConfigureFunctionsWebApplication();
        // a registration that cannot be built fails here, at start, not at the first invocation that needs it
        builder.ConfigureContainer(new DefaultServiceProviderFactory(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true }));
        return builder;
    }

    /// <summary>Recon's parts, from the builder's configuration: the Core pipeline (whose settings are checked on start,
    /// before any function runs) and telemetry.</summary>
    public static FunctionsApplicationBuilder AddServices(FunctionsApplicationBuilder builder, string? hostJsonPath = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        // the same Core services Recon.Worker registers (one extension, so the two hosts cannot drift)
        builder.Services.AddReconPipeline(builder.Configuration, hostJsonPath ?? HostJsonPath);
        // Recon's metrics and spans go to Application Insights when APPLICATIONINSIGHTS_CONNECTION_STRING is set (in Azure)
        builder.Services.AddReconTelemetry(builder.Configuration);
        return builder;
    }
}
