using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Azure.Core.Serialization;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Converters;
using Microsoft.DurableTask.Testing;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;

namespace Recon.Tests.Pipeline;

/// <summary>
/// The <see cref="HostScenarios"/> on Microsoft.DurableTask.InProcessTestHost: the gRPC worker and client of the Durable
/// Task SDK (the ones Recon.Functions runs on) against an in-memory backend, with the real Core orchestrators.
/// </summary>
/// <remarks>
/// Each scenario runs twice: with the data converter Functions gives the worker (its <c>WorkerOptions.Serializer</c>,
/// System.Text.Json with case-insensitive names, which is also what binds <c>[ActivityTrigger]</c> inputs) and with the
/// SDK's default (System.Text.Json with fields, what Recon.Worker's DTFx host uses).
/// </remarks>
public sealed class InProcessHostTests(InProcessHostTests.Hosts hosts) : IClassFixture<InProcessHostTests.Hosts>
{
    public static TheoryData<string, string> Scenarios()
    {
        var data = new TheoryData<string, string>();
        foreach (var converter in new[] { Hosts.FunctionsJson, Hosts.SdkDefault })
        {
            foreach (var scenario in HostScenarios.Names)
            {
                data.Add(converter, scenario);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public Task CoreOrchestrator_OnTheGrpcWorkerSdk_BehavesAsTheScenarioExpects(string converter, string scenario)
        => HostScenarios.RunAsync(scenario, hosts[converter]);

    [Fact]
    public void ScriptedActivities_HaveTheNamesAndContractsOfTheCoreActivities()
    {
        var pairs = Scripted.Pairs().ToList();
        Assert.Equal(2, pairs.Count);
        foreach (var (scripted, core) in pairs)
        {
            Assert.True(core is not null, $"Core has no activity named {scripted.Name}");
            Assert.Equal(ContractOf(core), ContractOf(scripted));
        }
        // and every Core activity has a stand-in, so a new one cannot slip past these scenarios
        var coreActivities = typeof(Core.Pipeline.DispatchBatchesActivity).Assembly.GetTypes()
            .Where(t => t.Namespace == "Recon.Core.Pipeline" && !t.IsAbstract && typeof(ITaskActivity).IsAssignableFrom(t))
            .Select(t => t.Name).Order(StringComparer.Ordinal);
        Assert.Equal(coreActivities, pairs.Select(p => p.Scripted.Name).Order(StringComparer.Ordinal));

        static (Type, Type) ContractOf(Type activity)
        {
            var type = activity;
            while (!(type.IsGenericType && type.GetGenericTypeDefinition() == typeof(TaskActivity<,>)))
            {
                type = type.BaseType!;
            }
            var args = type.GetGenericArguments();
            return (args[0], args[1]);
        }
    }

    /// <summary>One in-process host per data converter, shared by the scenarios (each has its own instance ids).</summary>
    public sealed class Hosts : IAsyncLifetime
    {
        public const string FunctionsJson = "functions-json";
        public const string SdkDefault = "sdk-default";

        private readonly Dictionary<string, InProcessHost> _hosts = new(StringComparer.Ordinal);

        public IHostUnderTest this[string converter] => _hosts[converter];

        public async Task InitializeAsync()
        {
            _hosts[FunctionsJson] = await InProcessHost.StartAsync(new FunctionsJsonConverter());
            _hosts[SdkDefault] = await InProcessHost.StartAsync(JsonDataConverter.Default);
        }

        public async Task DisposeAsync()
        {
            foreach (var host in _hosts.Values)
            {
                await host.DisposeAsync();
            }
        }
    }

    private sealed class InProcessHost(DurableTaskTestHost host, DataConverter converter) : IHostUnderTest, IAsyncDisposable
    {
        public ScenarioBook Book { get; } = host.Services.GetRequiredService<ScenarioBook>();

        public DataConverter Converter => converter;

        public static async Task<InProcessHost> StartAsync(DataConverter converter)
        {
            var book = new ScenarioBook();
            var host = await DurableTaskTestHost.StartAsync(
                tasks => HostScenarios.Register(t => tasks.AddOrchestrator(t), t => tasks.AddActivity(t)),
                new DurableTaskTestHostOptions
                {
                    // its own default is a random port in 30000-40000, where the local stack's Azurite may listen
                    Port = FreePort(),
                    // its gRPC sidecar logs every request at Information (hundreds of lines per run in the CI output);
                    // the scenarios assert what matters
                    LoggerFactory = Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance,
                    ConfigureServices = services =>
                    {
                        services.AddSingleton(book);
                        // as Functions sets them: the worker's and the client's converter are one
                        services.Configure<DurableTaskWorkerOptions>(o => o.DataConverter = converter);
                        services.Configure<DurableTaskClientOptions>(o => o.DataConverter = converter);
                    },
                });
            return new InProcessHost(host, converter);
        }

        public string NewInstanceId(string name) => $"{name}-{Guid.NewGuid():N}"[..Math.Min(name.Length + 13, 60)];

        public Task StartAsync(string orchestrator, string instanceId, object input)
            => host.Client.ScheduleNewOrchestrationInstanceAsync(orchestrator, input, new StartOrchestrationOptions(instanceId));

        public async Task<Ended> WaitAsync(string instanceId)
        {
            using var limit = new CancellationTokenSource(HostScenarios.RunLimit);
            var state = await host.Client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: true, limit.Token);
            return new Ended(state.RuntimeStatus.ToString(), state.SerializedOutput, state.FailureDetails?.ErrorType, state.FailureDetails?.ErrorMessage);
        }

        public async Task<string?> CurrentInputAsync(string instanceId)
            => (await host.Client.GetInstanceAsync(instanceId, getInputsAndOutputs: true))?.SerializedInput;

        public Task TerminateAsync(string instanceId) => host.Client.TerminateInstanceAsync(instanceId);

        public ValueTask DisposeAsync() => host.DisposeAsync();

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }

    /// <summary>
    /// The converter the Functions Durable extension gives the worker and client: its <c>WorkerOptions.Serializer</c>
    /// (by default Azure.Core's <see cref="JsonObjectSerializer"/> over System.Text.Json with case-insensitive property
    /// names) behind a <see cref="DataConverter"/>, values written as their runtime type.
    /// </summary>
    private sealed class FunctionsJsonConverter : DataConverter
    {
        private readonly JsonObjectSerializer _serializer = new(new JsonSerializerOptions { PropertyNameCaseInsensitive = true });

        public override string? Serialize(object? value) => value is null ? null : _serializer.Serialize(value, value.GetType(), default).ToString();

        public override object? Deserialize(string? data, Type targetType)
        {
            if (data is null)
            {
                return null;
            }
            using var stream = new MemoryStream(Encoding.UTF8.GetBytes(data), writable: false);
            return _serializer.Deserialize(stream, targetType, default);
        }
    }
}
