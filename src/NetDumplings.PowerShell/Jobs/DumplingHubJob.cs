using System.Management.Automation;
using NetDumplings.Hub;

using NetDumplings.PowerShell.Cmdlets;

namespace NetDumplings.PowerShell.Jobs;

/// <summary>
/// A running hub as a PowerShell job: Get-Job lists it, Receive-Job returns where it listens and its
/// log, Stop-Job (or Remove-Job -Force) shuts it down and releases its ports. Start-DumplingHub in
/// the foreground replays the same job on the pipeline thread.
/// </summary>
public sealed class DumplingHubJob : DumplingJob
{
    private readonly DumplingHub _hub;

    internal DumplingHubJob(DumplingHub hub, string command, string? name) : base(command, name, "DumplingHubJob", "Start-DumplingHub")
    {
        _hub = hub;
        hub.Log += OnLog;
    }

    /// <summary>Where the hub listens (also the job's first output).</summary>
    public DumplingHubInfo? Info { get; private set; }

    internal void Started()
    {
        Info = new DumplingHubInfo(_hub);
        AddOutput(Info);
        SetJobState(JobState.Running);
    }

    private void OnLog(object? sender, HubLogEventArgs e) => AddMessage(e.Level switch
    {
        HubLogLevel.Error => JobMessageLevel.Error,
        HubLogLevel.Warning => JobMessageLevel.Warning,
        HubLogLevel.Information => JobMessageLevel.Information,
        _ => JobMessageLevel.Verbose,
    }, e.Level == HubLogLevel.Information ? e.ToString() : e.Message,
        () => Errors.Record(new InvalidOperationException(e.Message), "HubError", ErrorCategory.NotSpecified, _hub));

    public override string StatusMessage => Info is null ? "" : Info.ToString();
    public override string Location => Info?.KitchenHub ?? "";

    protected override void StopEngine()
    {
        _hub.StopAsync().GetAwaiter().GetResult();
        _hub.Log -= OnLog;
    }
}
