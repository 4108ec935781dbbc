using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using Recon.Functions;

// every setting is checked when the host starts (Recon.Core.Hosting.ReconSettings): a wrong one stops the app with its name
ReconFunctionsApp.Configure(FunctionsApplication.CreateBuilder(args)).Build().Run();
