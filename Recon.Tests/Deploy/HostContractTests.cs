using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Azure.Storage.Queues;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Recon.Core.Hosting;
using Recon.Core.Pipeline;
using Recon.Core.Queues;
using Recon.Core.Telemetry;
using Recon.Functions;

namespace Recon.Tests.Deploy;

/// <summary>
/// What <c>azd up</c> deploys must start and run: the Functions app's host is built exactly as <c>Program.cs</c> builds it
/// (<see cref="ReconFunctionsApp.Configure"/>), with the app settings that <c>bicep/main.bicep</c> gives the Function App
/// for each parameters file (Key Vault references as placeholders, values only Azure knows as stand-ins) and the
/// repository's host.json — and the same for <c>local.settings.sample.json</c>. Nothing here needs the Functions host or a
/// network: the host is built and its start-up check run, not started.
/// </summary>
/// <remarks>
/// <c>RECON_CONTRACT_ROOT</c> points the deploy inputs (bicep/, host.json, local.settings.sample.json) at another checkout,
/// e.g. an older commit, to show which of its defects this test catches.
/// </remarks>
public sealed partial class HostContractTests : IClassFixture<HostContractTests.Inputs>
{
    public const string SampleSettings = "local.settings.sample.json";

    private readonly Inputs _inputs;

    public HostContractTests(Inputs inputs) => _inputs = inputs;

    public static TheoryData<string> Deployments => new() { "main.dev.bicepparam", "main.prod.bicepparam" };

    public static TheoryData<string> Targets => new() { "main.dev.bicepparam", "main.prod.bicepparam", SampleSettings };

    [Theory]
    [MemberData(nameof(Targets))]
    public void FunctionsHost_BuiltWithTheDeployedSettings_PassesItsStartupCheck(string target)
    {
        if (Environment.GetEnvironmentVariable("RECON_CONTRACT_SETTINGS_OUT") is { Length: > 0 } dump)
        {
            // for running the built Recon.Functions.dll by hand with exactly these settings (docs/deploy.md)
            Directory.CreateDirectory(dump);
            File.WriteAllLines(Path.Combine(dump, target + ".env"), SettingsOf(target).Select(kv => $"export {kv.Key}='{kv.Value}'"));
        }
        using var host = BuildFunctionsHost(target);
        // ValidateOnStart: what Host.StartAsync runs before any hosted service (the gRPC worker) starts
        var validator = host.Services.GetRequiredService<IStartupValidator>();
        var ex = Record.Exception(validator.Validate);
        Assert.True(ex is null, $"{target}: the Functions app would stop at start:\n{ex?.Message}");
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void FunctionsHost_EveryFunctionClassOrchestratorAndActivity_Resolves(string target)
    {
        using var host = BuildFunctionsHost(target);
        using var scope = host.Services.CreateScope();
        var functions = typeof(ReconFunctionsApp).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly)
                .Select(m => (Type: t, Method: m, Name: m.GetCustomAttribute<FunctionAttribute>()?.Name)))
            .Where(f => f.Name is not null)
            .ToList();
        Assert.NotEmpty(functions);
        foreach (var type in functions.Where(f => !f.Method.IsStatic).Select(f => f.Type).Distinct())
        {
            Assert.NotNull(ActivatorUtilities.CreateInstance(scope.ServiceProvider, type));
        }

        var registry = Recon.Worker.PipelineRegistry.Create();
        var isService = host.Services.GetRequiredService<IServiceProviderIsService>();
        foreach (var (name, type) in registry.Orchestrators)
        {
            Assert.Contains(functions, f => f.Name == name && HasTrigger<OrchestrationTriggerAttribute>(f.Method));
            Assert.NotNull(type.GetConstructor(Type.EmptyTypes));
        }
        foreach (var (name, type) in registry.Activities)
        {
            Assert.Contains(functions, f => f.Name == name && HasTrigger<ActivityTriggerAttribute>(f.Method));
            // every constructor parameter comes from the container (ValidateOnBuild proved those build), except the
            // starter, which the trigger makes from its [DurableClient]
            foreach (var parameter in type.GetConstructors().Single().GetParameters())
            {
                Assert.True(parameter.ParameterType == typeof(IBatchStarter) || isService.IsService(parameter.ParameterType),
                    $"{target}: activity {name} needs a {parameter.ParameterType.Name} that the Functions app does not register");
            }
        }
        // and nothing the Functions app exposes is missing from the worker's registry (the two hosts run the same set)
        var durable = functions.Where(f => HasTrigger<OrchestrationTriggerAttribute>(f.Method) || HasTrigger<ActivityTriggerAttribute>(f.Method)).Select(f => f.Name!);
        Assert.All(durable, n => Assert.True(registry.Orchestrators.ContainsKey(n) || registry.Activities.ContainsKey(n), $"{n} runs on Functions only"));
    }

    [Theory]
    [MemberData(nameof(Deployments))]
    public void QueueClient_FromTheDeployedSettings_ReachesTheDeployedAccountWithTheIdentity(string target)
    {
        var settings = SettingsOf(target);
        using var host = BuildFunctionsHost(target);
        var client = host.Services.GetRequiredService<QueueServiceClient>();
        Assert.True(settings.TryGetValue("Recon__Storage__QueueServiceUri", out var uri), $"{target}: Recon__Storage__QueueServiceUri is not set");
        Assert.Equal(new Uri(uri!), client.Uri);
        Assert.Equal(settings["AzureWebJobsStorage__accountName"], client.AccountName);
        // shared keys are off on the account: a client that could sign a SAS would hold a key
        Assert.False(client.CanGenerateAccountSasUri, $"{target}: the queue client authenticates with a shared key");
        Assert.Equal(settings["AzureWebJobsStorage__clientId"], settings["Recon__Identity__ClientId"]);
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void ConnectionBudget_WithTheDeployedNumbers_Fits(string target)
    {
        var configuration = Configuration(SettingsOf(target));
        var activities = ReconSettings.HostActivityConcurrency(configuration, _inputs.HostJson);
        var budget = new Recon.Core.Persistence.ConnectionBudget(
            configuration.GetSection(Recon.Core.Persistence.ConnectionBudgetOptions.SectionName).Get<Recon.Core.Persistence.ConnectionBudgetOptions>() ?? new());
        var database = configuration.GetSection(Recon.Core.Persistence.DatabaseOptions.SectionName).Get<Recon.Core.Persistence.DatabaseOptions>() ?? new();
        Assert.Empty(budget.Problems(database, activities));
        if (target != SampleSettings)
        {
            // the budget the app checks is the one bicep sized the deployment with
            var site = _inputs.Workspace.Snapshot(target).Single("Microsoft.Web/sites");
            var instances = site.GetProperty("properties").GetProperty("functionAppConfig").GetProperty("scaleAndConcurrency").GetProperty("maximumInstanceCount").GetInt32();
            Assert.Equal(instances, budget.Options.MaxInstances);
        }
    }

    [Theory]
    [MemberData(nameof(Deployments))]
    public void EveryQueueTheCodeWrites_IsCreatedByBicep(string target)
    {
        var created = _inputs.Workspace.Snapshot(target).OfType("Microsoft.Storage/storageAccounts/queueServices/queues")
            .Select(DeploymentSnapshot.ShortName).ToHashSet(StringComparer.Ordinal);
        var written = typeof(QueueNames).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string) && f.Name != nameof(QueueNames.PoisonSuffix))
            .Select(f => (string)f.GetRawConstantValue()!)
            .Concat(new PoisonQueueProbe(new QueueServiceClient(new Uri("https://x.queue.core.windows.net/")), new PriorityQueueOptions()).Queues)
            .Distinct().ToList();
        Assert.Contains(QueueNames.HighPoison, written);
        var missing = written.Where(q => !created.Contains(q)).ToList();
        Assert.True(missing.Count == 0, $"{target}: the code writes to queues bicep does not create: {string.Join(", ", missing)}");
    }

    [Fact]
    public void HostJsonMessageEncoding_AgreesWithEverySender()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(_inputs.HostJson), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var encoding = doc.RootElement.GetProperty("extensions").GetProperty("queues").TryGetProperty("messageEncoding", out var e) ? e.GetString() : "base64";
        // every sender (the pipeline, the intake's poison moves, the CLI and the tests) builds its client with QueueClients.Options
        var senders = QueueClients.Options().MessageEncoding;
        Assert.True(
            (senders == QueueMessageEncoding.None && string.Equals(encoding, "none", StringComparison.OrdinalIgnoreCase))
            || (senders == QueueMessageEncoding.Base64 && string.Equals(encoding, "base64", StringComparison.OrdinalIgnoreCase)),
            $"host.json queues.messageEncoding is '{encoding}' but senders write {senders}: every trigger would fail to decode, and poison, each message");
    }

    [Theory]
    [MemberData(nameof(Deployments))]
    public void EveryMetricAnAlertQueries_IsPublishedByTheCode(string target)
    {
        var rules = _inputs.Workspace.Snapshot(target).OfType("Microsoft.Insights/scheduledQueryRules");
        Assert.NotEmpty(rules);
        foreach (var rule in rules)
        {
            foreach (var criterion in rule.GetProperty("properties").GetProperty("criteria").GetProperty("allOf").EnumerateArray())
            {
                var query = criterion.GetProperty("query").GetString()!;
                foreach (Match m in MetricName().Matches(query))
                {
                    Assert.True(ReconMetricNames.Instruments.Contains(m.Groups[1].Value), $"{DeploymentSnapshot.ShortName(rule)} queries {m.Groups[1].Value}, which the code never publishes");
                }
                // a rule on poison queues needs their depths published: the probe both hosts run publishes every one
                if (query.Contains("-poison", StringComparison.Ordinal))
                {
                    Assert.Contains(ReconMetricNames.QueueDepth, query, StringComparison.Ordinal);
                    var probe = new PoisonQueueProbe(new QueueServiceClient(new Uri("https://x.queue.core.windows.net/")), new PriorityQueueOptions());
                    Assert.Equal(4, probe.Queues.Count(q => q.EndsWith("-poison", StringComparison.Ordinal)));
                }
            }
        }
    }

    [Fact]
    public void SampleSettings_NameOnlySettingsTheAppReads()
    {
        // a Recon__ setting the code does not bind is a typo (Recon__Stripe__ApiKey instead of Recon__Providers__Stripe__ApiKey)
        var known = new[] { "Recon__Database__", "Recon__Redis__Configuration", "Recon__Storage__", "Recon__Providers__Stripe__", "Recon__Providers__Plaid__",
            "Recon__Providers__BankA__", "Recon__Providers__BankB__", "Recon__Identity__", "Recon__ConnectionBudget__", "Recon__Queues__", "Recon__Dispatcher__" };
        foreach (var name in SettingsOf(SampleSettings).Keys.Where(k => k.StartsWith("Recon__", StringComparison.Ordinal)))
        {
            Assert.True(known.Any(k => name.StartsWith(k, StringComparison.Ordinal)), $"{SampleSettings}: {name} is not a setting Recon reads");
        }
    }

    private static bool HasTrigger<T>(MethodInfo method) where T : Attribute
        => method.GetParameters().Any(p => p.GetCustomAttribute<T>() is not null);

    private Dictionary<string, string> SettingsOf(string target)
    {
        if (target == SampleSettings)
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(_inputs.Root, "Recon.Functions", SampleSettings)));
            return doc.RootElement.GetProperty("Values").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal);
        }
        return ArmExpression.Resolve(_inputs.Workspace.Snapshot(target).AppSettings());
    }

    private static IConfiguration Configuration(IReadOnlyDictionary<string, string> settings)
        => new ConfigurationBuilder().AddInMemoryCollection(settings.Select(kv => new KeyValuePair<string, string?>(kv.Key.Replace("__", ":", StringComparison.Ordinal), kv.Value))).Build();

    /// <summary>The Functions app's host as <c>Program.cs</c> builds it, with only <paramref name="target"/>'s settings as
    /// configuration (none of this process's environment).</summary>
    private IHost BuildFunctionsHost(string target)
    {
        var builder = ReconFunctionsApp.ConfigureHost(FunctionsApplication.CreateBuilder([]));
        // only these settings: not this process's environment, which the worker's defaults add as a source
        ((IConfigurationBuilder)builder.Configuration).Sources.Clear();
        builder.Configuration.AddConfiguration(Configuration(SettingsOf(target)));
        ReconFunctionsApp.AddServices(builder, _inputs.HostJson);
        return builder.Build();
    }

    [GeneratedRegex("Name == \"([a-z0-9._]+)\"")]
    private static partial Regex MetricName();

    /// <summary>The deploy inputs: this repository's, or those of <c>RECON_CONTRACT_ROOT</c>.</summary>
    public sealed class Inputs : IDisposable
    {
        public Inputs()
        {
            Root = Environment.GetEnvironmentVariable("RECON_CONTRACT_ROOT") is { Length: > 0 } other ? other : BicepWorkspace.RepositoryRoot;
            Workspace = BicepWorkspace.Of(Path.Combine(Root, "bicep"));
        }

        public string Root { get; }

        public string HostJson => Path.Combine(Root, "Recon.Functions", "host.json");

        public BicepWorkspace Workspace { get; }

        public void Dispose() => Workspace.Dispose();
    }
}
