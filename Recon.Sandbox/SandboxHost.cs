using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Recon.Sandbox.Admin;
using Recon.Sandbox.Banks;
using Recon.Sandbox.Plaid;
using Recon.Sandbox.Stripe;

namespace Recon.Sandbox;

/// <summary>Starts the provider sandboxes on Kestrel, on loopback: in-process for tests, or as the process <c>./recon up</c> runs.</summary>
public static class SandboxHost
{
    /// <summary>Starts listening and returns once the port is bound; <see cref="RunningSandbox.BaseUrl"/> says where.</summary>
    public static async Task<RunningSandbox> StartAsync(SandboxOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var address = IPAddress.Parse(options.Host);
        if (!IPAddress.IsLoopback(address))
        {
            throw new ArgumentException($"the sandbox listens on loopback only, not {options.Host}", nameof(options));
        }
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(address, options.Port));
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        var state = new SandboxState(options);
        builder.Services.AddSingleton(state);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ProviderGate>();
        builder.Services.ConfigureHttpJsonOptions(j =>
        {
            j.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            j.SerializerOptions.Converters.Add(new JsonStringEnumConverter());
        });
        var app = builder.Build();
        app.MapGet("/", () => Results.Text("recon provider sandboxes: /v1 (stripe), /transactions/sync (plaid), /bank-a, /bank-b, /admin\n"));
        app.MapStripe();
        app.MapPlaid();
        app.MapBanks();
        app.MapAdmin();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("Kestrel reported no address after starting");
        return new RunningSandbox(app, state, new Uri(bound.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal)));
    }
}

/// <summary>A started sandbox. Dispose stops it.</summary>
public sealed class RunningSandbox(WebApplication app, SandboxState state, Uri baseUrl) : IAsyncDisposable
{
    /// <summary>E.g. <c>http://127.0.0.1:41234</c>, no trailing slash: Stripe's <c>ApiBase</c> and Plaid's base URL.</summary>
    public string BaseUrl { get; } = baseUrl.GetLeftPart(UriPartial.Authority);

    public string BankAUrl => BaseUrl + "/" + BankStore.BankA;

    public string BankBUrl => BaseUrl + "/" + BankStore.BankB;

    public SandboxState State { get; } = state;

    public SandboxOptions Options => State.Options;

    /// <summary>An admin client for this sandbox (the same HTTP surface scenario loaders and benchmarks use).</summary>
    public SandboxAdminClient Admin(HttpClient http) => new(http, BaseUrl, Options.AdminKey);

    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync().ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
    }
}
