using System.Management.Automation;
using NetDumplings.Kitchen;

namespace NetDumplings.PowerShell.Cmdlets;

/// <summary>One error category per reason a kitchen cannot start.</summary>
internal static class KitchenErrors
{
    public static ErrorRecord Record(KitchenException e) => Errors.Record(e, "Kitchen" + e.Problem, e.Problem switch
    {
        KitchenProblem.LibpcapMissing => ErrorCategory.NotInstalled,
        KitchenProblem.PermissionDenied => ErrorCategory.PermissionDenied,
        KitchenProblem.UnknownInterface => ErrorCategory.ObjectNotFound,
        KitchenProblem.InvalidFilter => ErrorCategory.InvalidArgument,
        KitchenProblem.BadCaptureFile => ErrorCategory.ReadError,
        KitchenProblem.NoValidChef => ErrorCategory.InvalidArgument,
        KitchenProblem.CaptureFailed => ErrorCategory.OpenError,
        _ => ErrorCategory.InvalidArgument,
    }, e.Target, e.RecommendedAction);

    /// <summary>A running kitchen's error notice (a chef that threw, a corrupt file mid-way) as a non-terminating error.</summary>
    public static ErrorRecord Record(KitchenNotice notice)
    {
        var record = Errors.Record(notice.Error ?? new InvalidOperationException(notice.Message),
            notice.Chef is null ? "KitchenProblem" : "ChefFailed",
            notice.Chef is null ? ErrorCategory.ReadError : ErrorCategory.InvalidResult,
            (object?)notice.Chef ?? "kitchen");
        // The chef's own exception keeps its type and stack; the message says which chef and which packet.
        if (notice.Error is null) return record;
        // A scriptblock chef's error is already one sentence naming the chef, the packet and the script
        // line: keep it whole, without the kitchen's "Chef 'X' failed on its own thread (...):" before it.
        if (notice.Error is ScriptChefs.ScriptChefException && notice.Message.IndexOf(notice.Error.Message, StringComparison.Ordinal) is var at and > 0)
            return WithMessage(record, notice.Message[at..]);
        return WithMessage(record, notice.Message);
    }

    private static ErrorRecord WithMessage(ErrorRecord record, string message)
    {
        record.ErrorDetails = new ErrorDetails(message);
        return record;
    }
}
