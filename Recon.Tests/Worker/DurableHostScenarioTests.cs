using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Converters;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Recon.Tests.Infrastructure;
using Recon.Tests.Pipeline;
using Recon.Worker.Hosting;

namespace Recon.Tests.Worker;

/// <summary>
/// The same <see cref="HostScenarios"/> as <see cref="InProcessHostTests"/>, with the same expected values, on Recon.Worker's
/// host: DTFx over the real Azurite through the shim factory. A scenario that passes on one host and fails on the other
/// is a serialization or replay difference between them.
/// </summary>
public sealed class DurableHostScenarioTests(DurableHostScenarioTests.Host host) : IClassFixture<DurableHostScenarioTests.Host>
{
    public static TheoryData<string> Scenarios() => new(HostScenarios.Names);

    [Theory]
    [MemberData(nameof(Scenarios))]
    public Task CoreOrchestrator_OnDtfxOverAzurite_BehavesAsTheScenarioExpects(string scenario) => HostScenarios.RunAsync(scenario, host);

    /// <summary>One task hub for the class (the first orchestration on a new hub waits for its partition lease).</summary>
    public sealed class Host : IHostUnderTest, IAsyncLifetime
    {
        private DurableHost? _host;

        public ScenarioBook Book { get; } = new();

        /// <summary>DurableHost leaves the shim factory's default converter in place.</summary>
        public DataConverter Converter => JsonDataConverter.Default;

        private DurableHost Durable => _host ?? throw new InvalidOperationException("not started");

        public TaskHubClient Client => Durable.Client;

        public async Task InitializeAsync()
        {
            var registry = new DurableRegistry();
            HostScenarios.Register(t => registry.AddOrchestrator(t), t => registry.AddActivity(t));
            var services = new ServiceCollection().AddSingleton(Book).BuildServiceProvider();
            var options = new DurableHostOptions { TaskHubName = TestHubs.NewName("s"), StorageConnectionString = TestStack.Storage };
            _host = new DurableHost(options, registry, services, NullLoggerFactory.Instance);
            await _host.StartAsync();
        }

        public async Task DisposeAsync()
        {
            if (_host is not null)
            {
                await _host.StopAsync();
                await _host.DeleteHubAsync();
                await _host.DisposeAsync();
            }
        }

        public string NewInstanceId(string name) => $"{name}-{Guid.NewGuid():N}"[..(name.Length + 13)];

        public Task StartAsync(string orchestrator, string instanceId, object input)
            => Durable.Client.CreateOrchestrationInstanceAsync(orchestrator, "", instanceId, input);

        public async Task<Ended> WaitAsync(string instanceId)
        {
            var state = await TestHubs.WaitForCompletionAsync(Durable.Client, instanceId, HostScenarios.RunLimit);
            if (state is { OrchestrationStatus: OrchestrationStatus.Failed, FailureDetails: null, Output: { } text })
            {
                // the Azure Storage backend's instance state has no failure details; the failure is its output, as plain
                // text "{type}: {message}" (see FailedOrchestration_StateOutput_IsPlainTextNotJson)
                var (type, message) = SplitFailure(text);
                return new Ended(state.OrchestrationStatus.ToString(), null, type, message);
            }
            return new Ended(state.OrchestrationStatus.ToString(), state.Output, state.FailureDetails?.ErrorType, state.FailureDetails?.ErrorMessage);
        }

        public static (string Type, string Message) SplitFailure(string output)
        {
            var colon = output.IndexOf(": ", StringComparison.Ordinal);
            return colon < 0 ? ("", output) : (output[..colon], output[(colon + 2)..]);
        }

        public async Task<string?> CurrentInputAsync(string instanceId) => (await Durable.Client.GetOrchestrationStateAsync(instanceId))?.Input;

        public Task TerminateAsync(string instanceId)
            => Durable.Client.TerminateInstanceAsync(new OrchestrationInstance { InstanceId = instanceId }, "scenario over");
    }
}
