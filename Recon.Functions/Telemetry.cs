using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Recon.Core.Telemetry;

namespace Recon.Functions;

/// <summary>Exports Recon's Meter and ActivitySource ("Recon") to Application Insights.</summary>
internal static class Telemetry
{
    /// <summary>Set by the Function App's app settings (bicep/modules/functionapp.bicep); absent locally.</summary>
    public const string ConnectionStringSetting = "APPLICATIONINSIGHTS_CONNECTION_STRING";

    /// <summary>
    /// Adds the OpenTelemetry pipeline when Application Insights is configured; returns whether it did. Locally nothing
    /// is exported and <see cref="ReconMetricsSnapshot"/> reads the same instruments in-process.
    /// </summary>
    public static bool AddReconTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var connectionString = configuration[ConnectionStringSetting];
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            return false;
        }
        services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddMeter(ReconMetrics.Name)
                .AddAzureMonitorMetricExporter(o => o.ConnectionString = connectionString))
            .WithTracing(tracing => tracing
                .AddSource(ReconMetrics.Name)
                .AddAzureMonitorTraceExporter(o => o.ConnectionString = connectionString));
        return true;
    }
}
