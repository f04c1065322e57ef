using System.Management.Automation;
using NetDumplings.Hub;

namespace NetDumplings.PowerShell.Hub;

/// <summary>
/// A running hub as a PowerShell job: Get-Job lists it, Receive-Job returns where it listens and its
/// log, Stop-Job (or Remove-Job -Force) shuts it down and releases its ports.
/// </summary>
public sealed class DumplingHubJob : Job2
{
    private readonly DumplingHub _hub;
    private int _stopped;

    internal DumplingHubJob(DumplingHub hub, string command, string? name) : base(command, name)
    {
        _hub = hub;
        PSJobTypeName = "DumplingHubJob";
        hub.Log += OnLog;
    }

    /// <summary>Where the hub listens (also the job's first output).</summary>
    public DumplingHubInfo? Info { get; private set; }

    internal void Started()
    {
        Info = new DumplingHubInfo(_hub);
        Output.Add(PSObject.AsPSObject(Info));
        SetJobState(JobState.Running);
    }

    private void OnLog(object? sender, HubLogEventArgs e)
    {
        switch (e.Level)
        {
            case HubLogLevel.Error:
                Error.Add(Errors.Record(new InvalidOperationException(e.Message), "HubError", ErrorCategory.NotSpecified, _hub));
                break;
            case HubLogLevel.Warning:
                Warning.Add(new WarningRecord(e.Message));
                break;
            case HubLogLevel.Information:
                Information.Add(new InformationRecord(e.ToString(), "Start-DumplingHub"));
                break;
            default:
                Verbose.Add(new VerboseRecord(e.Message));
                break;
        }
    }

    public override string StatusMessage => Info is null ? "" : Info.ToString();
    public override bool HasMoreData => Output.Count > 0 || Error.Count > 0 || Warning.Count > 0 || Verbose.Count > 0 || Information.Count > 0;
    public override string Location => Info?.KitchenHub ?? "";

    public override void StopJob()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1) return;
        SetJobState(JobState.Stopping);
        _hub.StopAsync().GetAwaiter().GetResult();
        _hub.Log -= OnLog;
        SetJobState(JobState.Stopped);
    }

    public override void StopJob(bool force, string reason) => StopJob();
    public override void StartJob() { }
    public override void StartJobAsync() => OnStartJobCompleted(new System.ComponentModel.AsyncCompletedEventArgs(null, false, null));
    public override void StopJobAsync() => Task.Run(() => { StopJob(); OnStopJobCompleted(new System.ComponentModel.AsyncCompletedEventArgs(null, false, null)); });
    public override void StopJobAsync(bool force, string reason) => StopJobAsync();
    public override void SuspendJob() => throw new NotSupportedException("A hub job cannot be suspended; stop it with Stop-Job.");
    public override void SuspendJobAsync() => SuspendJob();
    public override void SuspendJob(bool force, string reason) => SuspendJob();
    public override void SuspendJobAsync(bool force, string reason) => SuspendJob();
    public override void ResumeJob() => throw new NotSupportedException("A hub job cannot be resumed.");
    public override void ResumeJobAsync() => ResumeJob();
    public override void UnblockJob() => throw new NotSupportedException("A hub job is never blocked.");
    public override void UnblockJobAsync() => UnblockJob();

    protected override void Dispose(bool disposing)
    {
        if (disposing) StopJob();
        base.Dispose(disposing);
    }
}
