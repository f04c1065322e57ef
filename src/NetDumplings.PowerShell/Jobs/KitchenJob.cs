using System.Management.Automation;
using NetDumplings.Client;
using NetDumplings.Kitchen;

using NetDumplings.PowerShell.Cmdlets;

namespace NetDumplings.PowerShell.Jobs;

/// <summary>
/// A running kitchen as a PowerShell job (Start-DumplingKitchen -AsJob; the foreground cmdlet replays
/// the same job). The kitchen runs on its own threads; the job only pumps its dumplings, notices,
/// progress and final statistics into the job's streams, and stops the kitchen on Stop-Job. No
/// runspace is involved, so no user scriptblock ever runs on the pump's thread.
/// </summary>
public sealed class KitchenJob : DumplingJob
{
    private readonly DumplingKitchen _kitchen;
    private readonly bool _foreground;
    private Task? _pump;

    internal KitchenJob(string command, string name, DumplingKitchen kitchen, bool foreground)
        : base(command, name, "DumplingKitchenJob", "Start-DumplingKitchen")
    {
        _kitchen = kitchen;
        _foreground = foreground;
    }

    /// <summary>The kitchen's counters now.</summary>
    public KitchenStatistics Statistics => _kitchen.GetStatistics();

    /// <summary>The counters when the kitchen ended; null while it runs.</summary>
    public KitchenStatistics? FinalStatistics { get; private set; }

    /// <summary>Ctrl+C: the pipeline takes no more objects, so the final statistics go to the host, as their format view shows them.</summary>
    protected override void ReportAfterStop(PSCmdlet cmdlet)
    {
        if (FinalStatistics is { } stats) cmdlet.Host.UI.WriteLine(Environment.NewLine + Conversion.StatisticsText.Format(stats) + Environment.NewLine);
    }

    public override string StatusMessage => _kitchen.GetStatistics().ToString();
    public override string Location => _kitchen.Options.IsLiveCapture ? string.Join(",", _kitchen.Options.LiveInterfaceNames) : string.Join(",", _kitchen.Options.Files);

    internal void Begin()
    {
        SetJobState(JobState.Running);
        _pump = Task.Run(PumpAsync);
    }

    private async Task PumpAsync()
    {
        var dumplings = _kitchen.Dumplings;
        try
        {
            var reading = dumplings is null ? Task.CompletedTask : Task.Run(async () =>
            {
                await foreach (var d in dumplings.ReadAllAsync().ConfigureAwait(false)) AddOutput(d);
            });
            var progressing = ReportProgressAsync();
            await foreach (var notice in _kitchen.Notices.ReadAllAsync().ConfigureAwait(false))
            {
                // A refusal by the hub is the kitchen's end, reported once as the job's failure.
                if (notice.Error is DumplingHubRefusedException) continue;
                AddMessage(notice.Level switch
                {
                    KitchenNoticeLevel.Error => JobMessageLevel.Error,
                    KitchenNoticeLevel.Warning => JobMessageLevel.Warning,
                    _ => JobMessageLevel.Verbose,
                }, notice.Message, () => KitchenErrors.Record(notice));
            }
            await _kitchen.Completion.ConfigureAwait(false);
            await reading.ConfigureAwait(false);
            await progressing.ConfigureAwait(false);
            var stats = _kitchen.GetStatistics();
            FinalStatistics = stats;
            AddMessage(JobMessageLevel.Verbose, stats.ToString());
            // To a hub: the statistics are the output. Without one the dumplings are, so the statistics go to
            // the information stream as the typed object, shown on the host as Write-Host would show them.
            if (dumplings is null) AddOutput(stats);
            else Information.Add(new InformationRecord(stats, "Start-DumplingKitchen") { Tags = { "Statistics", "PSHOST" } });
            if (_kitchen.HubFailure is { } failure)
            {
                // The foreground throws it as its terminating error; a job reports it as its failure.
                if (!_foreground) Error.Add(Errors.Record(failure, "HubRefused", ErrorCategory.PermissionDenied, failure is DumplingHubRefusedException r ? r.Address : null));
                SetJobState(JobState.Failed);
            }
            else SetJobState(JobStateInfo.State == JobState.Stopping ? JobState.Stopped : JobState.Completed);
        }
        catch (Exception e)
        {
            Error.Add(Errors.Record(e, "KitchenFailed", ErrorCategory.NotSpecified, Name));
            SetJobState(JobState.Failed);
        }
    }

    /// <summary>Progress through capture files, and the counters in the verbose stream every 5 s while it runs.</summary>
    private async Task ReportProgressAsync()
    {
        var progress = _kitchen.Progress is null ? null : new ProgressRecord(1, $"Kitchen {_kitchen.Options.Name}", "Replaying capture files");
        var nextVerbose = DateTime.UtcNow.AddSeconds(5);
        while (!_kitchen.Completion.IsCompleted)
        {
            await Task.WhenAny(_kitchen.Completion, Task.Delay(250)).ConfigureAwait(false);
            if (progress is not null)
            {
                progress.PercentComplete = (int)(100 * (_kitchen.Progress ?? 1));
                progress.StatusDescription = $"{_kitchen.GetStatistics().PacketsProcessed} packets";
                Progress.Add(progress);
            }
            if (DateTime.UtcNow >= nextVerbose)
            {
                AddMessage(JobMessageLevel.Verbose, _kitchen.GetStatistics().ToString());
                nextVerbose = DateTime.UtcNow.AddSeconds(5);
            }
        }
        if (progress is not null)
        {
            progress.RecordType = ProgressRecordType.Completed;
            Progress.Add(progress);
        }
    }

    protected override void StopEngine()
    {
        _kitchen.StopAsync().GetAwaiter().GetResult();
        _pump?.GetAwaiter().GetResult();
    }
}
