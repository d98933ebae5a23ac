//===- KcovDataflow.cpp - kcov dataflow instrumentation pass plugin -------===//
//
// Inserts calls to __sanitizer_cov_trace_args at function entry and to
// __sanitizer_cov_trace_ret before every return, so that a kernel can record
// the arguments and return values of every instrumented function (kcov
// dataflow, instrumentation ABI v1). Struct pointers and by-value structs come
// with a per-struct table of (offset, size) pairs built from debug info.
//
// The pass runs at the OptimizerLast extension point, like SanitizerCoverage.
// By then the IR signature may no longer match the source one, so every
// parameter is mapped back to IR values either through the C ABI (when the
// signature is known to be unchanged) or through debug records; a parameter
// whose value cannot be recovered exactly gets no call at all.
//
//===----------------------------------------------------------------------===//

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/BinaryFormat/Dwarf.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/DataLayout.h"
#include "llvm/IR/DebugInfoMetadata.h"
#include "llvm/IR/DebugProgramInstruction.h"
#include "llvm/IR/GlobalAlias.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/IntrinsicInst.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/PassManager.h"
#include "llvm/Passes/OptimizationLevel.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Passes/PassPlugin.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"
#include "llvm/TargetParser/Triple.h"

#include <map>
#include <optional>
#include <string>

using namespace llvm;

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
static cl::opt<bool>
    ClStats("kcovdf-dataflow-stats",
            cl::desc("kcov dataflow: print per-module counts to stderr"),
            cl::init(false));

static constexpr StringRef TraceArgsName = "__sanitizer_cov_trace_args";
static constexpr StringRef TraceRetName = "__sanitizer_cov_trace_ret";
static constexpr uint64_t SlotSize = 16;
static const Align SlotAlign(8);

namespace {

//===----------------------------------------------------------------------===//
// Source-level shapes, from debug info.
//===----------------------------------------------------------------------===//

struct Field {
  std::string Name;
  uint64_t Offset; // bytes
  uint64_t Size;   // bytes
};

enum class ShapeKind {
  Scalar,    // integers, enums, bools, floats, plain pointers: spilled
  StructPtr, // pointer to a struct/class with a field table: passed as is
  Aggregate, // struct/union/class by value: its in-memory copy is passed
};

struct Shape {
  ShapeKind Kind = ShapeKind::Scalar;
  uint64_t Size = 0; // bytes; the arg_size/ret_size passed (8 for StructPtr)
  const DICompositeType *Struct = nullptr; // owner of the field table, if any
  const std::vector<Field> *Fields = nullptr; // its table, when Struct is set
  bool PassByRef = false; // C++ types passed through a hidden reference
  std::string TypeName;
};

const DIType *stripQualifiers(const DIType *T) {
  while (auto *D = dyn_cast_or_null<DIDerivedType>(T)) {
    switch (D->getTag()) {
    case dwarf::DW_TAG_typedef:
    case dwarf::DW_TAG_const_type:
    case dwarf::DW_TAG_volatile_type:
    case dwarf::DW_TAG_restrict_type:
    case dwarf::DW_TAG_atomic_type:
      T = D->getBaseType();
      continue;
    default:
      return T;
    }
  }
  return T;
}

uint64_t typeSizeInBits(const DIType *T) {
  T = stripQualifiers(T);
  return T ? T->getSizeInBits() : 0;
}

bool isStructTag(unsigned Tag) {
  return Tag == dwarf::DW_TAG_structure_type || Tag == dwarf::DW_TAG_class_type;
}

std::string typeName(const DIType *T, unsigned Depth = 0) {
  if (!T)
    return "void";
  if (Depth > 16)
    return "?";
  if (auto *B = dyn_cast<DIBasicType>(T))
    return B->getName().str();
  if (auto *C = dyn_cast<DICompositeType>(T)) {
    std::string Name =
        C->getName().empty() ? "<anonymous>" : C->getName().str();
    switch (C->getTag()) {
    case dwarf::DW_TAG_structure_type:
      return "struct " + Name;
    case dwarf::DW_TAG_union_type:
      return "union " + Name;
    case dwarf::DW_TAG_enumeration_type:
      return "enum " + Name;
    case dwarf::DW_TAG_class_type:
      return "class " + Name;
    case dwarf::DW_TAG_array_type:
      return typeName(C->getBaseType(), Depth + 1) + "[]";
    default:
      return Name;
    }
  }
  if (isa<DISubroutineType>(T))
    return "function";
  auto *D = dyn_cast<DIDerivedType>(T);
  if (!D)
    return "?";
  std::string Base = typeName(D->getBaseType(), Depth + 1);
  const DIType *BaseT = stripQualifiers(D->getBaseType());
  bool BaseIsPointer = BaseT && isa<DIDerivedType>(BaseT) &&
                       BaseT->getTag() == dwarf::DW_TAG_pointer_type &&
                       D->getBaseType() == BaseT;
  switch (D->getTag()) {
  case dwarf::DW_TAG_typedef:
    return D->getName().str();
  case dwarf::DW_TAG_pointer_type:
    return Base + (Base.back() == '*' ? "*" : " *");
  case dwarf::DW_TAG_reference_type:
    return Base + " &";
  case dwarf::DW_TAG_rvalue_reference_type:
    return Base + " &&";
  case dwarf::DW_TAG_const_type:
    return BaseIsPointer ? Base + " const" : "const " + Base;
  case dwarf::DW_TAG_volatile_type:
    return BaseIsPointer ? Base + " volatile" : "volatile " + Base;
  case dwarf::DW_TAG_restrict_type:
    return Base + " restrict";
  case dwarf::DW_TAG_atomic_type:
    return "_Atomic " + Base;
  default:
    return Base;
  }
}

// One (offset, size) pair per direct non-static member in declaration order.
std::vector<Field> computeFieldTable(const DICompositeType *CT) {
  std::vector<Field> Fields;
  for (const DINode *E : CT->getElements()) {
    auto *M = dyn_cast_or_null<DIDerivedType>(E);
    if (!M || M->getTag() != dwarf::DW_TAG_member || M->isStaticMember())
      continue;
    uint64_t Bits = M->getSizeInBits();
    if (!Bits)
      Bits = typeSizeInBits(M->getBaseType());
    if (!Bits)
      continue; // zero-size members, flexible arrays
    uint64_t OffBits = M->getOffsetInBits();
    uint64_t Begin = OffBits / 8;
    uint64_t End = (OffBits + Bits + 7) / 8; // bitfields widen to whole bytes
    Fields.push_back({M->getName().str(), Begin, End - Begin});
  }
  return Fields;
}

// Field tables by struct type; kernel structs are large and used often.
class FieldTables {
public:
  const std::vector<Field> &get(const DICompositeType *CT) {
    auto It = Cache.find(CT);
    if (It == Cache.end())
      It = Cache.emplace(CT, computeFieldTable(CT)).first;
    return It->second;
  }

private:
  std::map<const DICompositeType *, std::vector<Field>> Cache;
};

Shape shapeOf(const DIType *T, FieldTables &Tables) {
  Shape S;
  S.TypeName = typeName(T);
  const DIType *U = stripQualifiers(T);
  if (!U)
    return S;
  if (auto *D = dyn_cast<DIDerivedType>(U)) {
    unsigned Tag = D->getTag();
    if (Tag == dwarf::DW_TAG_pointer_type ||
        Tag == dwarf::DW_TAG_reference_type ||
        Tag == dwarf::DW_TAG_rvalue_reference_type) {
      S.Size = D->getSizeInBits() ? D->getSizeInBits() / 8 : 8;
      auto *Pointee =
          dyn_cast_or_null<DICompositeType>(stripQualifiers(D->getBaseType()));
      if (Pointee && isStructTag(Pointee->getTag()) &&
          !Tables.get(Pointee).empty()) {
        S.Kind = ShapeKind::StructPtr;
        S.Struct = Pointee;
        S.Fields = &Tables.get(Pointee);
      }
      return S;
    }
    S.Size = (typeSizeInBits(U) + 7) / 8;
    return S;
  }
  if (auto *C = dyn_cast<DICompositeType>(U)) {
    S.Size = (C->getSizeInBits() + 7) / 8;
    unsigned Tag = C->getTag();
    if (Tag == dwarf::DW_TAG_enumeration_type)
      return S;
    S.Kind = ShapeKind::Aggregate;
    S.PassByRef = C->getFlags() & DINode::FlagTypePassByReference;
    if (isStructTag(Tag) && !Tables.get(C).empty()) {
      S.Struct = C;
      S.Fields = &Tables.get(C);
    }
    return S;
  }
  S.Size = (U->getSizeInBits() + 7) / 8;
  return S;
}

//===----------------------------------------------------------------------===//
// Debug records describing parameters.
//===----------------------------------------------------------------------===//

struct ParamRecord {
  bool IsDeclare = false;
  bool IsValue = false; // dbg_value (dbg_assign records are neither)
  const DIExpression *Expr = nullptr;
  SmallVector<Value *, 2> Locs;
};

struct SourceParam {
  unsigned Idx = 0; // 0-based source index
  std::string Name;
  Shape S;
  // First record of this parameter in the entry block, and the first record
  // of each fragment.
  std::optional<ParamRecord> First;
  SmallVector<ParamRecord, 4> FirstPerFragment;
};

void addRecord(SourceParam &P, ParamRecord R) {
  if (!P.First)
    P.First = R;
  auto Key = [](const ParamRecord &X) {
    auto F = X.Expr->getFragmentInfo();
    if (!F)
      return std::make_pair(~uint64_t(0), ~uint64_t(0));
    return std::make_pair(uint64_t(F->OffsetInBits), uint64_t(F->SizeInBits));
  };
  for (const ParamRecord &Old : P.FirstPerFragment)
    if (Key(Old) == Key(R))
      return;
  P.FirstPerFragment.push_back(std::move(R));
}

// The argument a value is computed from by the lowering of coerced
// parameters (truncations, shifts, extracts), if any.
Argument *rootArgument(Value *V) {
  for (unsigned I = 0; I < 8 && V; ++I) {
    if (auto *A = dyn_cast<Argument>(V))
      return A;
    if (auto *C = dyn_cast<CastInst>(V)) {
      V = C->getOperand(0);
      continue;
    }
    if (auto *Fr = dyn_cast<FreezeInst>(V)) {
      V = Fr->getOperand(0);
      continue;
    }
    if (auto *E = dyn_cast<ExtractValueInst>(V)) {
      V = E->getAggregateOperand();
      continue;
    }
    if (auto *B = dyn_cast<BinaryOperator>(V)) {
      switch (B->getOpcode()) {
      case Instruction::LShr:
      case Instruction::AShr:
      case Instruction::Shl:
      case Instruction::And:
        if (isa<Constant>(B->getOperand(1))) {
          V = B->getOperand(0);
          continue;
        }
        return nullptr;
      default:
        return nullptr;
      }
    }
    return nullptr;
  }
  return nullptr;
}

// True if the expression leaves the location's value unchanged in memory:
// empty, or only conversions between integer widths of a stack value.
bool isValuePreserving(const DIExpression *E) {
  for (auto Op : E->expr_ops()) {
    switch (Op.getOp()) {
    case dwarf::DW_OP_LLVM_convert:
    case dwarf::DW_OP_stack_value:
      continue;
    default:
      return false;
    }
  }
  return true;
}

//===----------------------------------------------------------------------===//
// How each traced value is materialised.
//===----------------------------------------------------------------------===//

enum class Source {
  Spill,   // store Vals[0] to the slot, pass the slot
  Pieces,  // store Vals[i] at offset 8*i of the slot, pass the slot
  Pointer, // pass Vals[0] itself (struct pointer, in-memory copy)
};

struct TracePlan {
  Source How = Source::Spill;
  SmallVector<Value *, 2> Vals;
};

struct ArgEmit {
  const SourceParam *P;
  TracePlan Plan;
};

struct Stats {
  unsigned Functions = 0, Instrumented = 0;
  unsigned SkipNoDebug = 0, SkipExcluded = 0;
  unsigned Args = 0, StructArgs = 0, Markers = 0, ArgsSkipped = 0;
  unsigned Rets = 0, StructRets = 0, RetsSkipped = 0;
};

class Instrumenter {
public:
  Instrumenter(Module &M, OptimizationLevel Level)
      : M(M), DL(M.getDataLayout()), Ctx(M.getContext()), Level(Level),
        IsX86_64(Triple(M.getTargetTriple()).getArch() == Triple::x86_64) {}

  bool run();

private:
  Module &M;
  const DataLayout &DL;
  LLVMContext &Ctx;
  OptimizationLevel Level;
  bool IsX86_64;
  Stats St;
  FunctionCallee TraceArgs, TraceRet;
  SmallPtrSet<const Function *, 32> AddressTaken; // before instrumenting
  FieldTables FieldTab;
  DenseMap<const DICompositeType *, GlobalVariable *> Tables;
  std::string Layout;

  bool shouldInstrument(Function &F);
  bool signatureUnchanged(Function &F) const;
  bool noCallerPassesPoison(const Argument *A) const;
  bool abiWalk(Function &F, ArrayRef<SourceParam> Params,
               std::vector<SmallVector<Argument *, 2>> &Out) const;
  std::optional<TracePlan> planFromArgs(const SourceParam &P,
                                        ArrayRef<Argument *> Args) const;
  std::optional<TracePlan> planFromRecord(const SourceParam &P,
                                          ArrayRef<SourceParam> All) const;
  std::optional<TracePlan> planRet(Function &F, ReturnInst &RI,
                                   const Shape &S) const;
  bool isCoercedPair(Value *V, uint64_t Size) const;
  bool fitsSlot(const TracePlan &Plan) const;
  void collectRecords(Function &F, DISubprogram *SP,
                      std::vector<SourceParam> &Params) const;
  bool instrument(Function &F, DISubprogram *SP);
  Value *emitValuePointer(IRBuilder<> &B, const TracePlan &Plan,
                          AllocaInst *&Slot);
  Constant *tableFor(const DICompositeType *CT, unsigned &NumFields);
  Constant *pcOf(Function &F);
  void appendLayout(Function &F, ArrayRef<ArgEmit> Args, bool Marker,
                    const Shape *Ret);
  void writeLayout();
};

bool Instrumenter::shouldInstrument(Function &F) {
  if (F.isDeclaration() || F.hasAvailableExternallyLinkage())
    return false;
  ++St.Functions;
  if (F.getName().starts_with("__sanitizer_cov_") ||
      F.hasFnAttribute(Attribute::NoSanitizeCoverage) ||
      F.hasFnAttribute(Attribute::DisableSanitizerInstrumentation) ||
      F.hasFnAttribute(Attribute::Naked) || F.isVarArg() ||
      F.getSection() == ".noinstr.text") {
    ++St.SkipExcluded;
    return false;
  }
  DISubprogram *SP = F.getSubprogram();
  if (!SP || !SP->getType()) {
    ++St.SkipNoDebug;
    return false;
  }
  // A source-level variadic function whose varargs were dropped.
  auto Types = SP->getType()->getTypeArray();
  if (Types.size() > 1 && !Types[Types.size() - 1]) {
    ++St.SkipExcluded;
    return false;
  }
  return true;
}

// Interprocedural passes (dead-argument elimination, argument promotion,
// constant propagation) only rewrite signatures of local functions whose
// every use is a direct call, and at -O0 nothing does.
bool Instrumenter::signatureUnchanged(Function &F) const {
  return Level == OptimizationLevel::O0 || !F.hasLocalLinkage() ||
         AddressTaken.count(&F);
}

// True if some use of the value is not the callee of a call. SanitizerCoverage
// tables (-fsanitize-coverage=pc-table), which may be built after the
// interprocedural passes ran, do not count.
bool hasNonCallUse(const Value *V, unsigned Depth = 0) {
  for (const Use &U : V->uses()) {
    const User *Usr = U.getUser();
    if (auto *CB = dyn_cast<CallBase>(Usr)) {
      if (CB->isCallee(&U))
        continue;
      return true;
    }
    if (auto *GV = dyn_cast<GlobalVariable>(Usr)) {
      if (GV->getSection().starts_with("__sancov"))
        continue;
      return true;
    }
    if (isa<Constant>(Usr) && !isa<GlobalValue>(Usr) && Depth < 4) {
      if (hasNonCallUse(Usr, Depth + 1))
        return true;
      continue;
    }
    return true;
  }
  return false;
}

// Dead-argument elimination makes the direct callers (in this module) of a
// function pass poison for an argument the body does not use. Callers from
// other modules, or through a pointer, always pass the real value.
bool Instrumenter::noCallerPassesPoison(const Argument *A) const {
  for (const Use &U : A->getParent()->uses()) {
    auto *CB = dyn_cast<CallBase>(U.getUser());
    if (!CB || !CB->isCallee(&U))
      continue;
    if (A->getArgNo() >= CB->arg_size() ||
        isa<UndefValue>(CB->getArgOperand(A->getArgNo())))
      return false;
  }
  return true;
}

// Maps source parameters to IR arguments the way clang lowers them for the
// x86-64 System V ABI. Fails if the IR does not fit that lowering.
bool Instrumenter::abiWalk(
    Function &F, ArrayRef<SourceParam> Params,
    std::vector<SmallVector<Argument *, 2>> &Out) const {
  if (!IsX86_64)
    return false;
  unsigned A = 0, N = F.arg_size();
  for (unsigned I = 0; I < N; ++I) {
    if (F.hasParamAttribute(I, Attribute::InAlloca) ||
        F.hasParamAttribute(I, Attribute::Preallocated) ||
        (I > 0 && F.hasParamAttribute(I, Attribute::StructRet)))
      return false;
  }
  if (N > 0 && F.hasParamAttribute(0, Attribute::StructRet))
    A = 1;
  Out.assign(Params.size(), {});
  auto Scalar = [&](unsigned I) {
    Type *T = F.getArg(I)->getType();
    return T->isSingleValueType() && !F.hasParamAttribute(I, Attribute::ByVal);
  };
  for (unsigned PI = 0; PI < Params.size(); ++PI) {
    const Shape &S = Params[PI].S;
    if (S.Kind != ShapeKind::Aggregate) {
      if (A >= N || !Scalar(A))
        return false;
      Type *T = F.getArg(A)->getType();
      bool Fits = S.Kind == ShapeKind::StructPtr
                      ? T->isPointerTy()
                      : DL.getTypeAllocSize(T) == S.Size ||
                            (S.Size == 1 && T->isIntegerTy(1));
      if (!Fits && S.Kind == ShapeKind::Scalar && S.Size == 16 &&
          A + 1 < N && Scalar(A + 1) && DL.getTypeStoreSize(T) == 8 &&
          DL.getTypeStoreSize(F.getArg(A + 1)->getType()) == 8) {
        // __int128 and the like travel as two eightbytes.
        Out[PI].push_back(F.getArg(A++));
        Out[PI].push_back(F.getArg(A++));
        continue;
      }
      if (!Fits)
        return false;
      Out[PI].push_back(F.getArg(A++));
      continue;
    }
    if (S.Size == 0)
      continue; // empty aggregates take no register and no stack
    if (A >= N)
      return false;
    if (F.hasParamAttribute(A, Attribute::ByVal)) {
      Type *BT = F.getParamByValType(A);
      if (!BT || DL.getTypeAllocSize(BT) != S.Size)
        return false;
      Out[PI].push_back(F.getArg(A++));
      continue;
    }
    if (S.PassByRef || S.Size > 16) {
      if (!F.getArg(A)->getType()->isPointerTy())
        return false;
      Out[PI].push_back(F.getArg(A++));
      continue;
    }
    unsigned Pieces = S.Size <= 8 ? 1 : 2;
    for (unsigned K = 0; K < Pieces; ++K, ++A) {
      if (A >= N || !Scalar(A))
        return false;
      uint64_t Bytes = DL.getTypeStoreSize(F.getArg(A)->getType());
      if (Bytes > 8 || (Pieces == 2 && K == 0 && Bytes != 8) ||
          (Pieces == 1 && Bytes > S.Size))
        return false;
      Out[PI].push_back(F.getArg(A));
    }
  }
  return A == N;
}

std::optional<TracePlan>
Instrumenter::planFromArgs(const SourceParam &P,
                           ArrayRef<Argument *> Args) const {
  if (Args.empty())
    return std::nullopt;
  TracePlan Plan;
  Plan.Vals.assign(Args.begin(), Args.end());
  const Shape &S = P.S;
  if (S.Kind == ShapeKind::StructPtr)
    Plan.How = Source::Pointer;
  else if (S.Kind == ShapeKind::Scalar)
    Plan.How = Args.size() == 1 ? Source::Spill : Source::Pieces;
  else if (Args.size() == 1 && Args[0]->getType()->isPointerTy() &&
           (Args[0]->hasByValAttr() || S.PassByRef || S.Size > 16))
    Plan.How = Source::Pointer; // the callee's own copy
  else
    Plan.How = Source::Pieces;
  return Plan;
}

// An argument the body uses, or that its debug records still describe, was
// not declared dead by dead-argument elimination (which turns the debug uses
// of a dead argument into poison).
bool isLive(const Argument *A) {
  return !A->use_empty() || A->isUsedByMetadata() ||
         A->hasPassPointeeByValueCopyAttr();
}

// True if the parameter's first debug records (one per fragment) all
// describe it through the given arguments and nothing else.
bool recordsConfirm(const SourceParam &P, ArrayRef<Argument *> Args) {
  if (P.FirstPerFragment.empty())
    return false;
  for (const ParamRecord &R : P.FirstPerFragment) {
    if (R.Locs.empty())
      return false;
    for (Value *V : R.Locs) {
      Argument *A = rootArgument(V);
      if (!A || !is_contained(Args, A))
        return false;
    }
  }
  return true;
}

// Fallback when the ABI mapping is not certain: the parameter's first debug
// record must name one IR argument as the whole variable, and no other
// parameter may claim that argument.
std::optional<TracePlan>
Instrumenter::planFromRecord(const SourceParam &P,
                             ArrayRef<SourceParam> All) const {
  if (!P.First || P.First->Locs.size() != 1 ||
      P.First->Expr->getFragmentInfo())
    return std::nullopt;
  auto *A = dyn_cast<Argument>(P.First->Locs[0]);
  if (!A)
    return std::nullopt;
  for (const SourceParam &Other : All) {
    if (&Other == &P)
      continue;
    for (const ParamRecord &R : Other.FirstPerFragment)
      for (Value *V : R.Locs)
        if (rootArgument(V) == A)
          return std::nullopt;
  }
  const Shape &S = P.S;
  Type *T = A->getType();
  TracePlan Plan;
  Plan.Vals.push_back(A);
  if (P.First->IsDeclare) {
    // The variable lives in memory the argument points to.
    if (S.Kind != ShapeKind::Aggregate || P.First->Expr->getNumElements() != 0)
      return std::nullopt;
    bool Own = A->hasByValAttr()
                   ? DL.getTypeAllocSize(A->getParamByValType()) == S.Size
                   : S.PassByRef;
    if (!Own)
      return std::nullopt;
    Plan.How = Source::Pointer;
    return Plan;
  }
  if (!P.First->IsValue || !isValuePreserving(P.First->Expr) ||
      !T->isSingleValueType() || A->hasByValAttr())
    return std::nullopt;
  switch (S.Kind) {
  case ShapeKind::StructPtr:
    if (!T->isPointerTy())
      return std::nullopt;
    Plan.How = Source::Pointer;
    return Plan;
  case ShapeKind::Scalar:
    if (DL.getTypeAllocSize(T) != S.Size && !(S.Size == 1 && T->isIntegerTy(1)))
      return std::nullopt;
    Plan.How = Source::Spill;
    return Plan;
  case ShapeKind::Aggregate:
    if (S.PassByRef || S.Size > 8 || DL.getTypeStoreSize(T) != S.Size)
      return std::nullopt;
    Plan.How = Source::Pieces;
    return Plan;
  }
  return std::nullopt;
}

void Instrumenter::collectRecords(Function &F, DISubprogram *SP,
                                  std::vector<SourceParam> &Params) const {
  auto Visit = [&](const DILocalVariable *Var, const DIExpression *Expr,
                   const DebugLoc &Loc, ParamRecord R) {
    if (!Var || Var->getScope() != SP || !Var->getArg() ||
        Var->getArg() > Params.size() || (Loc && Loc->getInlinedAt()))
      return;
    R.Expr = Expr;
    SourceParam &P = Params[Var->getArg() - 1];
    if (P.Name.empty())
      P.Name = Var->getName().str();
    addRecord(P, std::move(R));
  };
  for (Instruction &I : F.getEntryBlock()) {
    for (DbgVariableRecord &DVR : filterDbgVars(I.getDbgRecordRange())) {
      ParamRecord R;
      R.IsDeclare = DVR.isDbgDeclare();
      R.IsValue = DVR.isDbgValue();
      for (Value *V : DVR.location_ops())
        R.Locs.push_back(V);
      Visit(DVR.getVariable(), DVR.getExpression(), DVR.getDebugLoc(), R);
    }
    if (auto *DVI = dyn_cast<DbgVariableIntrinsic>(&I)) {
      ParamRecord R;
      R.IsDeclare = isa<DbgDeclareInst>(DVI);
      R.IsValue = isa<DbgValueInst>(DVI) && !isa<DbgAssignIntrinsic>(DVI);
      for (Value *V : DVI->location_ops())
        R.Locs.push_back(V);
      Visit(DVI->getVariable(), DVI->getExpression(), DVI->getDebugLoc(), R);
    }
  }
}

// The returned value: the sret memory, or the ret operand checked against
// the source return type (dead-return elimination may have rewritten it).
std::optional<TracePlan> Instrumenter::planRet(Function &F, ReturnInst &RI,
                                               const Shape &S) const {
  TracePlan Plan;
  for (Argument &A : F.args()) {
    if (!A.hasStructRetAttr())
      continue;
    if (S.Kind != ShapeKind::Aggregate ||
        DL.getTypeAllocSize(A.getParamStructRetType()) != S.Size)
      return std::nullopt;
    Plan.How = Source::Pointer;
    Plan.Vals.push_back(&A);
    return Plan;
  }
  Value *V = RI.getReturnValue();
  if (!V || isa<UndefValue>(V))
    return std::nullopt;
  if (auto *C = dyn_cast<Constant>(V))
    if (C->containsUndefOrPoisonElement())
      return std::nullopt;
  Type *T = V->getType();
  switch (S.Kind) {
  case ShapeKind::StructPtr:
    if (!T->isPointerTy())
      return std::nullopt;
    Plan.How = Source::Pointer;
    Plan.Vals.push_back(V);
    return Plan;
  case ShapeKind::Scalar:
    if (T->isSingleValueType() &&
        (DL.getTypeAllocSize(T) == S.Size ||
         (S.Size == 1 && T->isIntegerTy(1)))) {
      Plan.How = Source::Spill;
      Plan.Vals.push_back(V);
      return Plan;
    }
    if (S.Size != 16 || !isCoercedPair(V, S.Size))
      return std::nullopt;
    Plan.How = Source::Pieces; // __int128 returned in two registers
    Plan.Vals.push_back(V);
    return Plan;
  case ShapeKind::Aggregate:
    if (S.Size == 0 || S.Size > 16 || S.PassByRef)
      return std::nullopt;
    if (T->isSingleValueType()) {
      if (S.Size > 8 || DL.getTypeStoreSize(T) > S.Size)
        return std::nullopt;
    } else if (!isCoercedPair(V, S.Size)) {
      return std::nullopt;
    }
    Plan.How = Source::Pieces;
    Plan.Vals.push_back(V); // stored whole: the IR struct layout is the ABI's
    return Plan;
  }
  return std::nullopt;
}

// A value of S bytes returned in two eightbytes as a literal {a, b} whose
// elements are all defined: an insertvalue chain over poison that misses an
// element means that part of the value was optimised out.
bool Instrumenter::isCoercedPair(Value *V, uint64_t Size) const {
  auto *ST = dyn_cast<StructType>(V->getType());
  if (!ST || Size <= 8 || Size > 16 || ST->getNumElements() != 2 ||
      !ST->getElementType(0)->isSingleValueType() ||
      !ST->getElementType(1)->isSingleValueType() ||
      DL.getTypeStoreSize(ST->getElementType(0)) != 8 ||
      DL.getTypeStoreSize(ST->getElementType(1)) > 8)
    return false;
  SmallVector<unsigned, 2> Set;
  Value *Cur = V;
  while (auto *IV = dyn_cast<InsertValueInst>(Cur)) {
    if (IV->getNumIndices() != 1 ||
        isa<UndefValue>(IV->getInsertedValueOperand()))
      return false;
    if (!is_contained(Set, IV->getIndices()[0]))
      Set.push_back(IV->getIndices()[0]);
    Cur = IV->getAggregateOperand();
  }
  return !isa<UndefValue>(Cur) || Set.size() == 2;
}

// Returns the pointer to pass for a planned value. Values that are not
// already in memory go through one 16-byte stack slot per function, created
// on first use at the top of the entry block; the callbacks read it before
// the next store.
Value *Instrumenter::emitValuePointer(IRBuilder<> &B, const TracePlan &Plan,
                                      AllocaInst *&Slot) {
  if (Plan.How != Source::Pointer && !Slot) {
    BasicBlock &Entry = B.GetInsertBlock()->getParent()->getEntryBlock();
    IRBuilder<> AB(&Entry, Entry.begin());
    // 8-byte alignment: the kernel's stack is only 8-byte aligned, and a
    // 16-byte aligned slot would force every frame to be realigned.
    Slot = AB.CreateAlloca(Type::getInt128Ty(Ctx), nullptr, "kcovdf.slot");
    Slot->setAlignment(SlotAlign);
  }
  switch (Plan.How) {
  case Source::Pointer:
    return Plan.Vals[0];
  case Source::Spill:
    B.CreateAlignedStore(Plan.Vals[0], Slot, SlotAlign);
    return Slot;
  case Source::Pieces:
    // Padding bytes are never read (fields cover members only), but a zero
    // base keeps the slot contents deterministic.
    B.CreateAlignedStore(ConstantInt::get(Type::getInt128Ty(Ctx), 0), Slot,
                         SlotAlign);
    for (unsigned I = 0; I < Plan.Vals.size(); ++I)
      B.CreateAlignedStore(
          Plan.Vals[I],
          B.CreateConstInBoundsGEP1_64(B.getInt8Ty(), Slot, 8 * I), SlotAlign);
    return Slot;
  }
  return Slot;
}

// True if the values a plan stores fit the 16-byte slot.
bool Instrumenter::fitsSlot(const TracePlan &Plan) const {
  if (Plan.How == Source::Pointer)
    return true;
  for (unsigned I = 0; I < Plan.Vals.size(); ++I)
    if (8 * I + DL.getTypeStoreSize(Plan.Vals[I]->getType()) > SlotSize)
      return false;
  return true;
}

Constant *Instrumenter::tableFor(const DICompositeType *CT,
                                 unsigned &NumFields) {
  const std::vector<Field> &Fields = FieldTab.get(CT);
  NumFields = Fields.size();
  auto &GV = Tables[CT];
  if (!GV) {
    SmallVector<uint64_t, 32> Words;
    for (const Field &F : Fields) {
      Words.push_back(F.Offset);
      Words.push_back(F.Size);
    }
    Constant *Init = ConstantDataArray::get(Ctx, ArrayRef<uint64_t>(Words));
    std::string Name = "__kcovdf_fields";
    if (!CT->getName().empty())
      Name += "." + CT->getName().str();
    GV = new GlobalVariable(M, Init->getType(), /*isConstant=*/true,
                            GlobalValue::PrivateLinkage, Init, Name);
    GV->setUnnamedAddr(GlobalValue::UnnamedAddr::Global);
    GV->setAlignment(Align(8));
  }
  return GV;
}

// The function's own start address. A weak or linkonce definition may be
// replaced at link time; a private alias keeps the reference on this copy.
Constant *Instrumenter::pcOf(Function &F) {
  Constant *Target = &F;
  if (F.isWeakForLinker()) {
    Target = GlobalAlias::create(F.getValueType(), F.getAddressSpace(),
                                 GlobalValue::PrivateLinkage,
                                 F.getName() + ".kcovdf_pc", &F, &M);
  }
  return ConstantExpr::getPtrToInt(Target, Type::getInt64Ty(Ctx));
}

bool Instrumenter::instrument(Function &F, DISubprogram *SP) {
  auto Types = SP->getType()->getTypeArray();
  std::vector<SourceParam> Params;
  for (unsigned I = 1; I < Types.size(); ++I) {
    SourceParam P;
    P.Idx = I - 1;
    P.S = shapeOf(Types[I], FieldTab);
    Params.push_back(std::move(P));
  }
  for (const DINode *N : SP->getRetainedNodes())
    if (auto *V = dyn_cast<DILocalVariable>(N))
      if (V->getArg() && V->getArg() <= Params.size())
        Params[V->getArg() - 1].Name = V->getName().str();
  collectRecords(F, SP, Params);

  // Decide, per parameter, where its entry value comes from.
  std::vector<ArgEmit> Emits;
  unsigned Skipped = 0;
  if (ClArgs) {
    std::vector<SmallVector<Argument *, 2>> Map;
    bool Walked = abiWalk(F, Params, Map);
    bool Trusted = Walked && signatureUnchanged(F);
    // For a local function the ABI mapping holds for a parameter only where
    // its own debug records agree with it: interprocedural passes may have
    // dropped or rewritten arguments.
    for (unsigned I = 0; I < Params.size(); ++I) {
      const SourceParam &P = Params[I];
      std::optional<TracePlan> Plan;
      auto Reliable = [&](const Argument *A) {
        return isLive(A) || noCallerPassesPoison(A);
      };
      if (Walked && all_of(Map[I], Reliable) &&
          (Trusted || recordsConfirm(P, Map[I])))
        Plan = planFromArgs(P, Map[I]);
      if (!Plan && !Trusted)
        Plan = planFromRecord(P, Params);
      if (Plan && fitsSlot(*Plan))
        Emits.push_back({&P, *Plan});
      else
        ++Skipped;
    }
  }

  bool Marker = ClArgs && Emits.empty();
  Shape RetShape =
      shapeOf(Types.size() == 0 ? nullptr : Types[0], FieldTab);
  bool RetVoid = Types.size() == 0 || !Types[0];

  SmallVector<std::pair<ReturnInst *, std::optional<TracePlan>>, 4> Rets;
  unsigned RetsSkipped = 0;
  if (ClRet) {
    for (BasicBlock &BB : F) {
      auto *RI = dyn_cast<ReturnInst>(BB.getTerminator());
      if (!RI)
        continue;
      if (auto *CI = dyn_cast_or_null<CallInst>(RI->getPrevNode()))
        if (CI->isMustTailCall()) {
          ++RetsSkipped; // nothing may sit between a musttail call and ret
          continue;
        }
      if (RetVoid) {
        Rets.push_back({RI, std::nullopt});
        continue;
      }
      std::optional<TracePlan> Plan = planRet(F, *RI, RetShape);
      if (!Plan || !fitsSlot(*Plan)) {
        ++RetsSkipped;
        continue;
      }
      Rets.push_back({RI, std::move(Plan)});
    }
  }

  St.ArgsSkipped += Skipped;
  St.RetsSkipped += RetsSkipped;
  if (!Marker && Emits.empty() && Rets.empty())
    return false;

  // Emit.
  Constant *PC = pcOf(F);
  // Entry calls go after the entry block's leading allocas.
  BasicBlock &Entry = F.getEntryBlock();
  BasicBlock::iterator IP = Entry.getFirstInsertionPt();
  while (IP != Entry.end() && isa<AllocaInst>(*IP))
    ++IP;
  IRBuilder<> B(&Entry, IP);
  AllocaInst *Slot = nullptr;
  DebugLoc EntryLoc = DILocation::get(Ctx, 0, 0, SP);
  B.SetCurrentDebugLocation(EntryLoc);
  PointerType *PtrTy = B.getPtrTy();
  Constant *NullPtr = ConstantPointerNull::get(PtrTy);

  auto TableArgs = [&](const Shape &S, Value *&Table, unsigned &NF) {
    NF = 0;
    Table = NullPtr;
    if (S.Struct)
      Table = tableFor(S.Struct, NF);
  };

  if (Marker) {
    B.CreateCall(TraceArgs, {PC, B.getInt32(0), B.getInt32(0), NullPtr,
                             NullPtr, B.getInt32(0)});
    ++St.Markers;
  }
  for (const ArgEmit &E : Emits) {
    Value *Ptr = emitValuePointer(B, E.Plan, Slot);
    Value *Table;
    unsigned NF;
    TableArgs(E.P->S, Table, NF);
    B.CreateCall(TraceArgs, {PC, B.getInt32(E.P->Idx), B.getInt32(E.P->S.Size),
                             Ptr, Table, B.getInt32(NF)});
    ++St.Args;
    if (NF)
      ++St.StructArgs;
  }
  for (auto &[RI, Plan] : Rets) {
    B.SetInsertPoint(RI);
    B.SetCurrentDebugLocation(RI->getDebugLoc() ? RI->getDebugLoc()
                                                : EntryLoc);
    if (!Plan) {
      B.CreateCall(TraceRet,
                   {PC, B.getInt32(0), NullPtr, NullPtr, B.getInt32(0)});
    } else {
      Value *Ptr = emitValuePointer(B, *Plan, Slot);
      Value *Table;
      unsigned NF;
      TableArgs(RetShape, Table, NF);
      B.CreateCall(TraceRet, {PC, B.getInt32(RetShape.Size), Ptr, Table,
                              B.getInt32(NF)});
      if (NF)
        ++St.StructRets;
    }
    ++St.Rets;
  }
  ++St.Instrumented;
  if (!ClLayoutDir.empty()) {
    Shape VoidShape;
    VoidShape.TypeName = "void";
    const Shape *RetForLayout = nullptr;
    if (!Rets.empty())
      RetForLayout = RetVoid ? &VoidShape : &RetShape;
    appendLayout(F, Emits, Marker, RetForLayout);
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Layout dump (docs/layout.md).
//===----------------------------------------------------------------------===//

std::string jsonString(StringRef S) {
  std::string Out = "\"";
  for (unsigned char C : S) {
    switch (C) {
    case '"':
      Out += "\\\"";
      break;
    case '\\':
      Out += "\\\\";
      break;
    case '\n':
      Out += "\\n";
      break;
    case '\t':
      Out += "\\t";
      break;
    default:
      if (C < 0x20) {
        char Buf[8];
        snprintf(Buf, sizeof(Buf), "\\u%04x", C);
        Out += Buf;
      } else {
        Out += C;
      }
    }
  }
  return Out + "\"";
}

std::string jsonFields(const Shape &S) {
  std::string Out = "[";
  if (S.Fields) {
    bool First = true;
    for (const Field &F : *S.Fields) {
      if (!First)
        Out += ",";
      First = false;
      Out += "{\"name\":" + jsonString(F.Name) +
             ",\"off\":" + std::to_string(F.Offset) +
             ",\"size\":" + std::to_string(F.Size) + "}";
    }
  }
  return Out + "]";
}

std::string jsonStructKey(const Shape &S) {
  if (!S.Struct)
    return "";
  return ",\"struct\":" + jsonString(S.Struct->getName());
}

void Instrumenter::appendLayout(Function &F, ArrayRef<ArgEmit> Args,
                                bool Marker, const Shape *Ret) {
  std::string L = "{\"func\":" + jsonString(F.getName()) +
                  ",\"file\":" + jsonString(M.getSourceFileName()) +
                  ",\"static\":" + (F.hasLocalLinkage() ? "true" : "false") +
                  ",\"args\":[";
  if (Marker)
    L += "{\"idx\":0,\"size\":0,\"marker\":true,\"fields\":[]}";
  bool First = !Marker;
  for (const ArgEmit &A : Args) {
    if (!First)
      L += ",";
    First = false;
    L += "{\"idx\":" + std::to_string(A.P->Idx) +
         ",\"name\":" + jsonString(A.P->Name) +
         ",\"type\":" + jsonString(A.P->S.TypeName) +
         ",\"size\":" + std::to_string(A.P->S.Size) + jsonStructKey(A.P->S) +
         ",\"fields\":" + jsonFields(A.P->S) + "}";
  }
  L += "],\"ret\":";
  if (!Ret)
    L += "null";
  else
    L += "{\"type\":" + jsonString(Ret->TypeName) +
         ",\"size\":" + std::to_string(Ret->Size) + jsonStructKey(*Ret) +
         ",\"fields\":" + jsonFields(*Ret) + "}";
  L += "}\n";
  Layout += L;
}

void Instrumenter::writeLayout() {
  if (ClLayoutDir.empty() || Layout.empty())
    return;
  std::string Key = M.getModuleIdentifier() + '\0' + M.getSourceFileName();
  SmallString<256> Path(ClLayoutDir);
  std::string Name = "kcovdf-" + utohexstr(xxh3_64bits(Key), true, 16) + "-" +
                     std::to_string(sys::Process::getProcessId()) + ".jsonl";
  sys::path::append(Path, Name);
  std::string Tmp = (Path + ".tmp").str();
  auto Fail = [&](const Twine &What, std::error_code EC) {
    Ctx.emitError("kcovdf-dataflow: " + What + ": " + EC.message() +
                  " (check -kcovdf-dataflow-layout-dir)");
  };
  if (std::error_code EC = sys::fs::create_directories(ClLayoutDir))
    return Fail("create " + ClLayoutDir, EC);
  {
    std::error_code EC;
    raw_fd_ostream OS(Tmp, EC, sys::fs::OF_None);
    if (EC)
      return Fail("open " + Tmp, EC);
    OS << Layout;
    OS.close();
    if (OS.has_error())
      return Fail("write " + Tmp, OS.error());
  }
  if (std::error_code EC = sys::fs::rename(Tmp, Path))
    return Fail("rename " + Tmp, EC);
}

bool Instrumenter::run() {
  SmallVector<std::pair<Function *, DISubprogram *>, 64> Work;
  for (Function &F : M) {
    if (!shouldInstrument(F))
      continue;
    Work.push_back({&F, F.getSubprogram()});
    if (F.hasLocalLinkage() && hasNonCallUse(&F))
      AddressTaken.insert(&F);
  }

  if (!Work.empty()) {
    Type *I32 = Type::getInt32Ty(Ctx), *I64 = Type::getInt64Ty(Ctx);
    PointerType *Ptr = PointerType::getUnqual(Ctx);
    AttributeList NoUnwind = AttributeList::get(
        Ctx, AttributeList::FunctionIndex, {Attribute::NoUnwind});
    TraceArgs = M.getOrInsertFunction(TraceArgsName, NoUnwind,
                                      Type::getVoidTy(Ctx), I64, I32, I32,
                                      Ptr, Ptr, I32);
    TraceRet = M.getOrInsertFunction(TraceRetName, NoUnwind,
                                     Type::getVoidTy(Ctx), I64, I32, Ptr, Ptr,
                                     I32);
  }
  bool Changed = false;
  for (auto &[F, SP] : Work)
    Changed |= instrument(*F, SP);
  writeLayout();
  if (ClStats)
    errs() << "kcovdf-dataflow: " << M.getSourceFileName() << ": functions "
           << St.Functions << ", instrumented " << St.Instrumented
           << ", skipped " << (St.SkipExcluded + St.SkipNoDebug)
           << " (excluded " << St.SkipExcluded << ", no debug info "
           << St.SkipNoDebug << "); args " << St.Args << " (struct "
           << St.StructArgs << ", markers " << St.Markers << ", skipped "
           << St.ArgsSkipped << "); rets " << St.Rets << " (struct "
           << St.StructRets << ", skipped " << St.RetsSkipped << ")\n";
  return Changed;
}

class KcovDataflowPass : public PassInfoMixin<KcovDataflowPass> {
public:
  explicit KcovDataflowPass(OptimizationLevel Level) : Level(Level) {}

  PreservedAnalyses run(Module &M, ModuleAnalysisManager &) {
    if (!ClArgs && !ClRet)
      return PreservedAnalyses::all();
    return Instrumenter(M, Level).run() ? PreservedAnalyses::none()
                                        : PreservedAnalyses::all();
  }

  static bool isRequired() { return true; }

private:
  OptimizationLevel Level;
};

} // namespace

extern "C" LLVM_ATTRIBUTE_WEAK PassPluginLibraryInfo llvmGetPassPluginInfo() {
  return {LLVM_PLUGIN_API_VERSION, "kcovdf-dataflow", "1",
          [](PassBuilder &PB) {
            PB.registerOptimizerLastEPCallback(
                [](ModulePassManager &MPM, OptimizationLevel Level) {
                  MPM.addPass(KcovDataflowPass(Level));
                });
            PB.registerPipelineParsingCallback(
                [](StringRef Name, ModulePassManager &MPM,
                   ArrayRef<PassBuilder::PipelineElement>) {
                  if (Name != "kcovdf-dataflow")
                    return false;
                  MPM.addPass(KcovDataflowPass(OptimizationLevel::O2));
                  return true;
                });
          }};
}
