//===- Emission.cpp - inserting the dataflow callbacks --------------------===//
//
//   void __sanitizer_cov_trace_args(u64 pc, u32 arg_idx, u32 arg_size,
//                                   void *arg_ptr, u64 *offsets, u32 n);
//   void __sanitizer_cov_trace_ret(u64 pc, u32 ret_size, void *ret_val,
//                                  u64 *offsets, u32 n);
//
// Entry calls go after the entry block's leading allocas, one per recorded
// parameter in source order (or the no-parameter marker); a return call goes
// before every planned ret.
//
//===----------------------------------------------------------------------===//

#include "KcovDataflow.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalAlias.h"

namespace kcovdf {

static constexpr StringRef TraceArgsName = "__sanitizer_cov_trace_args";
static constexpr StringRef TraceRetName = "__sanitizer_cov_trace_ret";
static const Align SlotAlign(8);

Emitter::Emitter(Module &M) : M(M), Ctx(M.getContext()) {
  Type *I32 = Type::getInt32Ty(Ctx), *I64 = Type::getInt64Ty(Ctx);
  PointerType *Ptr = PointerType::getUnqual(Ctx);
  AttributeList NoUnwind = AttributeList::get(
      Ctx, AttributeList::FunctionIndex, {Attribute::NoUnwind});
  TraceArgs = M.getOrInsertFunction(TraceArgsName, NoUnwind,
                                    Type::getVoidTy(Ctx), I64, I32, I32, Ptr,
                                    Ptr, I32);
  TraceRet = M.getOrInsertFunction(TraceRetName, NoUnwind,
                                   Type::getVoidTy(Ctx), I64, I32, Ptr, Ptr,
                                   I32);
}

// What names the function's own start address. A weak or linkonce
// definition may be replaced at link time; a private alias keeps the
// reference on this copy.
GlobalValue *Emitter::pcTarget(Function &F) {
  if (!F.isWeakForLinker())
    return &F;
  return GlobalAlias::create(F.getValueType(), F.getAddressSpace(),
                             GlobalValue::PrivateLinkage,
                             F.getName() + ".kcovdf_pc", &F, &M);
}

// One private constant [2N x i64] of (offset, size) pairs per struct type.
Constant *Emitter::tableFor(const Shape &S, unsigned &NumFields) {
  NumFields = 0;
  if (!S.Struct)
    return ConstantPointerNull::get(PointerType::getUnqual(Ctx));
  NumFields = S.Fields->size();
  GlobalVariable *&GV = Tables[S.Struct];
  if (!GV) {
    SmallVector<uint64_t, 32> Words;
    for (const Field &F : *S.Fields) {
      Words.push_back(F.Offset);
      Words.push_back(F.Size);
    }
    Constant *Init = ConstantDataArray::get(Ctx, ArrayRef<uint64_t>(Words));
    std::string Name = "__kcovdf_fields";
    if (!S.Struct->getName().empty())
      Name += "." + S.Struct->getName().str();
    GV = new GlobalVariable(M, Init->getType(), /*isConstant=*/true,
                            GlobalValue::PrivateLinkage, Init, Name);
    GV->setUnnamedAddr(GlobalValue::UnnamedAddr::Global);
    GV->setAlignment(Align(8));
  }
  return GV;
}

// The pointer to pass for a planned value. Values not already in memory go
// through one 16-byte stack slot per function, created on first use at the
// top of the entry block; the callbacks read it before the next store.
Value *Emitter::valuePointer(IRBuilder<> &B, const TracePlan &Plan,
                             AllocaInst *&Slot) {
  if (Plan.How == Source::Pointer)
    return Plan.Vals[0];
  if (!Slot) {
    BasicBlock &Entry = B.GetInsertBlock()->getParent()->getEntryBlock();
    IRBuilder<> AB(&Entry, Entry.begin());
    // 8-byte alignment: the kernel's stack is only 8-byte aligned, and a
    // 16-byte aligned slot would force every frame to be realigned. A
    // scalar, not an array, so that -fstack-protector leaves it alone.
    Slot = AB.CreateAlloca(Type::getInt128Ty(Ctx), nullptr, "kcovdf.slot");
    Slot->setAlignment(SlotAlign);
  }
  if (Plan.How == Source::Spill) {
    B.CreateAlignedStore(Plan.Vals[0], Slot, SlotAlign);
    return Slot;
  }
  // Padding bytes are never read (fields cover members only), but a zero
  // base keeps the slot's contents deterministic.
  B.CreateAlignedStore(ConstantInt::get(Type::getInt128Ty(Ctx), 0), Slot,
                       SlotAlign);
  // The slot is only 8-byte aligned: a vector's natural 16-byte alignment
  // would make the store fault.
  for (unsigned I = 0; I < Plan.Vals.size(); ++I) {
    Value *At = Slot;
    if (Plan.Offsets[I])
      At = B.CreateConstInBoundsGEP1_64(B.getInt8Ty(), Slot, Plan.Offsets[I]);
    B.CreateAlignedStore(Plan.Vals[I], At,
                         commonAlignment(SlotAlign, Plan.Offsets[I]));
  }
  return Slot;
}

GlobalValue *Emitter::emit(Function &F, const DISubprogram *SP,
                           const FunctionPlan &FP) {
  GlobalValue *Target = pcTarget(F);
  Constant *PC = ConstantExpr::getPtrToInt(Target, Type::getInt64Ty(Ctx));
  BasicBlock &Entry = F.getEntryBlock();
  BasicBlock::iterator IP = Entry.getFirstInsertionPt();
  while (IP != Entry.end() && isa<AllocaInst>(*IP))
    ++IP;
  IRBuilder<> B(&Entry, IP);
  AllocaInst *Slot = nullptr;
  DebugLoc EntryLoc = DILocation::get(Ctx, 0, 0, const_cast<DISubprogram *>(SP));
  B.SetCurrentDebugLocation(EntryLoc);
  Constant *Null = ConstantPointerNull::get(B.getPtrTy());

  if (FP.Marker)
    B.CreateCall(TraceArgs, {PC, B.getInt32(0), B.getInt32(0), Null, Null,
                             B.getInt32(0)});
  for (const ParamPlan &P : FP.Params) {
    if (!P.Plan)
      continue;
    Value *Ptr = valuePointer(B, *P.Plan, Slot);
    unsigned NF;
    Constant *Table = tableFor(P.S, NF);
    B.CreateCall(TraceArgs,
                 {PC, B.getInt32(P.Param.Idx),
                  B.getInt32(P.S.Size), Ptr, Table,
                  B.getInt32(NF)});
  }
  for (const RetPlan &R : FP.Rets) {
    if (!R.Record)
      continue;
    B.SetInsertPoint(R.RI);
    B.SetCurrentDebugLocation(R.RI->getDebugLoc() ? R.RI->getDebugLoc()
                                                  : EntryLoc);
    if (!R.Plan) {
      B.CreateCall(TraceRet, {PC, B.getInt32(0), Null, Null, B.getInt32(0)});
      continue;
    }
    Value *Ptr = valuePointer(B, *R.Plan, Slot);
    unsigned NF;
    Constant *Table = tableFor(FP.Ret, NF);
    B.CreateCall(TraceRet,
                 {PC, B.getInt32(FP.Ret.Size), Ptr,
                  Table, B.getInt32(NF)});
  }
  return Target;
}

} // namespace kcovdf
