//===- KcovDataflow.cpp - kcov dataflow instrumentation pass plugin -------===//
//
// Inserts calls to __sanitizer_cov_trace_args at function entry and to
// __sanitizer_cov_trace_ret before every return, so that a kernel can record
// the arguments and return values of every instrumented function (kcov
// dataflow, docs/instrumentation.md). Struct pointers and by-value structs
// come with a per-struct table of (offset, size) pairs built from debug info.
//
// Two passes: kcovdf-tag at the start of the pipeline notes which source
// parameter each IR argument carries; kcovdf-dataflow at OptimizerLast, where
// SanitizerCoverage runs (earlier insertion changes inlining and breaks
// kernel builds), plans and inserts the calls and describes them.
//
//===----------------------------------------------------------------------===//

#include "KcovDataflow.h"

#include "llvm/IR/PassManager.h"
#include "llvm/Passes/OptimizationLevel.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Passes/PassPlugin.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Transforms/IPO/GlobalDCE.h"

using namespace llvm;
using namespace kcovdf;

static cl::opt<bool> ClArgs("kcovdf-dataflow-args",
                            cl::desc("kcov dataflow: trace function arguments"),
                            cl::init(true));
static cl::opt<bool> ClRet("kcovdf-dataflow-ret",
                           cl::desc("kcov dataflow: trace return values"),
                           cl::init(true));
static cl::opt<std::string> ClLayoutDir(
    "kcovdf-dataflow-layout-dir",
    cl::desc("kcov dataflow: write each module's layout (JSON Lines) to a new "
             "file in this directory"),
    cl::init(""));
static cl::opt<bool> ClLayoutSection(
    "kcovdf-dataflow-layout-section",
    cl::desc("kcov dataflow: bind each function's layout to its address in "
             "the .kcovdf_layout section"),
    cl::init(true));
static cl::opt<unsigned> ClMaxFields(
    "kcovdf-dataflow-max-fields",
    cl::desc("kcov dataflow: expand a struct into at most its first N fields "
             "(0: all of them)"),
    cl::init(0));
// Tags the arguments and removes the tags, nothing else: shows that tagging
// changes no generated code (compare objects built with and without it).
static cl::opt<bool> ClTagOnly(
    "kcovdf-dataflow-tag-only", cl::Hidden,
    cl::desc("kcov dataflow: tag and untag arguments, instrument nothing"),
    cl::init(false));
static cl::opt<bool>
    ClStats("kcovdf-dataflow-stats",
            cl::desc("kcov dataflow: print per-module counts to stderr"),
            cl::init(false));

namespace {

struct Stats {
  unsigned Functions = 0, Instrumented = 0;
  unsigned SkipNoDebug = 0, SkipExcluded = 0;
  unsigned Args = 0, StructArgs = 0, Markers = 0, ArgsSkipped = 0;
  unsigned Rets = 0, StructRets = 0, RetsSkipped = 0;
  // Struct expansions whose field table was cut to -kcovdf-dataflow-max-fields.
  unsigned CappedArgs = 0, CappedRets = 0;
  unsigned Why[unsigned(SkipReason::Count)] = {};
};

enum class Verdict { Instrument, Excluded, NoDebugInfo, NotDefined };

Verdict classify(const Function &F) {
  if (F.isDeclaration() || F.hasAvailableExternallyLinkage())
    return Verdict::NotDefined;
  if (F.getName().starts_with("__sanitizer_cov_") ||
      F.hasFnAttribute(Attribute::NoSanitizeCoverage) ||
      F.hasFnAttribute(Attribute::DisableSanitizerInstrumentation) ||
      F.hasFnAttribute(Attribute::Naked) || F.isVarArg() ||
      F.getSection() == ".noinstr.text")
    return Verdict::Excluded;
  const DISubprogram *SP = fullSubprogram(F);
  if (!SP)
    return Verdict::NoDebugInfo;
  // A source-level variadic function whose varargs were dropped.
  auto Types = SP->getType()->getTypeArray();
  if (Types.size() > 1 && !Types[Types.size() - 1])
    return Verdict::Excluded;
  return Verdict::Instrument;
}

void printStats(const Module &M, const Stats &St) {
  errs() << "kcovdf-dataflow: " << M.getSourceFileName() << ": functions "
         << St.Functions << ", instrumented " << St.Instrumented
         << ", skipped " << (St.SkipExcluded + St.SkipNoDebug) << " (excluded "
         << St.SkipExcluded << ", no debug info " << St.SkipNoDebug
         << "); args " << St.Args << " (struct " << St.StructArgs;
  // Only with a cap, so that the line without one stays as it was.
  if (ClMaxFields)
    errs() << ", capped " << St.CappedArgs;
  errs() << ", markers " << St.Markers << ", skipped " << St.ArgsSkipped
         << "); rets " << St.Rets << " (struct " << St.StructRets;
  if (ClMaxFields)
    errs() << ", capped " << St.CappedRets;
  errs() << ", skipped " << St.RetsSkipped << ")";
  bool First = true;
  for (unsigned I = 0; I < unsigned(SkipReason::Count); ++I) {
    if (!St.Why[I])
      continue;
    errs() << (First ? "; skipped values: " : ", ")
           << skipReasonName(SkipReason(I)) << " "
           << St.Why[I];
    First = false;
  }
  errs() << "\n";
}

bool instrumentModule(Module &M) {
  Stats St;
  FieldTables Tables(ClMaxFields);
  SmallVector<std::pair<Function *, const DISubprogram *>, 64> Work;
  for (Function &F : M) {
    switch (classify(F)) {
    case Verdict::NotDefined:
      continue;
    case Verdict::Excluded:
      ++St.SkipExcluded;
      break;
    case Verdict::NoDebugInfo:
      ++St.SkipNoDebug;
      break;
    case Verdict::Instrument:
      Work.push_back({&F, fullSubprogram(F)});
      break;
    }
    ++St.Functions;
  }

  // Plan everything before changing anything: the plans look at the uses
  // of functions (callers passing poison), which emission adds to.
  std::vector<FunctionPlan> Plans;
  for (auto &[F, SP] : Work)
    Plans.push_back(planFunction(*F, SP, Tables, ClArgs, ClRet));
  stripTags(M);

  std::optional<Emitter> E;
  std::string Lines;
  for (unsigned I = 0; I < Work.size(); ++I) {
    auto [F, SP] = Work[I];
    const FunctionPlan &FP = Plans[I];
    for (const ParamPlan &P : FP.Params) {
      if (P.Plan) {
        ++St.Args;
        St.StructArgs += P.S.Struct != nullptr;
        St.CappedArgs += P.S.capped();
      } else {
        ++St.ArgsSkipped;
        ++St.Why[unsigned(P.Why)];
      }
    }
    for (const RetPlan &R : FP.Rets) {
      if (R.Record) {
        ++St.Rets;
        St.StructRets += R.Plan && FP.Ret.Struct != nullptr;
        St.CappedRets += R.Plan && FP.Ret.capped();
      } else {
        ++St.RetsSkipped;
        ++St.Why[unsigned(R.Why)];
      }
    }
    if (!FP.Marker && FP.recordedArgs() == 0 && FP.recordedRets() == 0)
      continue;
    St.Markers += FP.Marker;
    if (!E)
      E.emplace(M);
    GlobalValue *PC = E->emit(*F, SP, FP);
    ++St.Instrumented;
    if (ClLayoutDir.empty() && !ClLayoutSection)
      continue;
    std::string JSON = layoutJSON(*F, FP);
    if (ClLayoutSection)
      addLayoutRecord(M, PC, JSON);
    Lines += JSON;
    Lines += '\n';
  }
  if (!ClLayoutDir.empty() && !Lines.empty())
    if (Error Err = writeLayoutFile(M, ClLayoutDir, Lines))
      M.getContext().emitError("kcovdf-dataflow: " + toString(std::move(Err)) +
                               " (check -kcovdf-dataflow-layout-dir)");
  if (ClStats)
    printStats(M, St);
  return E.has_value();
}

class TagPass : public PassInfoMixin<TagPass> {
public:
  PreservedAnalyses run(Module &M, ModuleAnalysisManager &) {
    if (!ClArgs && !ClRet && !ClTagOnly)
      return PreservedAnalyses::all();
    // Attributes only: no analysis result changes.
    tagModule(M);
    return PreservedAnalyses::all();
  }
  static bool isRequired() { return true; }
};

class DataflowPass : public PassInfoMixin<DataflowPass> {
public:
  PreservedAnalyses run(Module &M, ModuleAnalysisManager &) {
    if (ClTagOnly || (!ClArgs && !ClRet)) {
      stripTags(M);
      return PreservedAnalyses::all();
    }
    return instrumentModule(M) ? PreservedAnalyses::none()
                               : PreservedAnalyses::all();
  }
  static bool isRequired() { return true; }
};

} // namespace

extern "C" LLVM_ATTRIBUTE_WEAK PassPluginLibraryInfo llvmGetPassPluginInfo() {
  return {LLVM_PLUGIN_API_VERSION, "kcovdf-dataflow", "2",
          [](PassBuilder &PB) {
            PB.registerPipelineStartEPCallback(
                [](ModulePassManager &MPM, OptimizationLevel) {
                  MPM.addPass(TagPass());
                });
            PB.registerOptimizerLastEPCallback(
                [](ModulePassManager &MPM, OptimizationLevel Level) {
                  // Functions GlobalDCE would delete after this point must
                  // not be described: their layout records would keep them.
                  if (Level != OptimizationLevel::O0 && !ClTagOnly)
                    MPM.addPass(GlobalDCEPass());
                  MPM.addPass(DataflowPass());
                });
            PB.registerPipelineParsingCallback(
                [](StringRef Name, ModulePassManager &MPM,
                   ArrayRef<PassBuilder::PipelineElement>) {
                  if (Name == "kcovdf-tag") {
                    MPM.addPass(TagPass());
                    return true;
                  }
                  if (Name == "kcovdf-dataflow") {
                    MPM.addPass(DataflowPass());
                    return true;
                  }
                  return false;
                });
          }};
}
